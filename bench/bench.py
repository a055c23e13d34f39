"""The course's benchmark (``make bench``): how fast training and evaluation are, and why.

For Seq2seq, PeekySeq2seq and AttentionSeq2seq at the book's settings (wordvec 16, hidden 256,
batch 128, reversed date questions: T = 29 in, 10 out) it prints

- the median milliseconds of one training iteration (forward, backward, clipping, Adam step),
  and the seconds of an epoch of 45,000 pairs that follow from it;
- the same for the book-style reference (``seqattn.reference.book_style``: stepwise LSTM input
  projections, attention looping over decoder steps), timed interleaved with ours, and the ratio;
- the matrix-product floor: the iteration's matrix products alone, replayed with the same shapes
  and thread setting, with the GFLOP they do and the GFLOP/s achieved;
- the seconds to evaluate the 5,000 test questions, batched (greedy decoding by single steps,
  and, beside it, through the time axis as the decoders once did) and one question at a time;
- the peak memory of a training iteration and of a batched evaluation (tracemalloc);
- the seconds of a whole run of the small preset (``seqattn.experiment``: six epochs of
  training and evaluation, the run chapter 7 trains live), attention on reversed questions;
- for Part 3's attention variants (``seqattn.attention_variants.VARIANTS``) and Part 4's
  Transformer (``seqattn.transformer.TRANSFORMERS``, questions as written): the median
  milliseconds of a training iteration beside its matrix-product floor, and the seconds to
  evaluate the 5,000 test questions;

for one and for two BLAS threads. The machine is shared and noisy: compare the ratios, which are
measured side by side, rather than absolute times.

    .venv/bin/python bench/bench.py [--repeats 15] [--models attention] [--threads 1 2]
        [--variants masked bilstm ...] [--transformers transformer] [--variant-repeats 7]
"""
import argparse
import json
import os
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from seqattn import experiment
from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.attention_variants import VARIANTS as PART3
from seqattn.data import default_data_path, load_dates
from seqattn.optim import Adam, clip_grads
from seqattn.peeky_seq2seq import PeekySeq2seq
from seqattn.reference import book_style, evaluate_one_by_one, time_axis_decoding
from seqattn.seq2seq import Seq2seq
from seqattn.speed import gflop, replay
from seqattn.train import evaluate
from seqattn.transformer import TRANSFORMERS

D, H, BATCH = 16, 256, 128
MODELS = {"baseline": Seq2seq, "peeky": PeekySeq2seq, "attention": AttentionSeq2seq}


# --- timing ----------------------------------------------------------------------------------

def interleaved(functions, repeats, warmup=2):
    """Runs each function once per round, round after round, so that the machine's changing
    load falls on all of them alike; returns {name: median seconds}."""
    times = {name: [] for name in functions}
    for round_ in range(warmup + repeats):
        for name, (threads, function) in functions.items():
            with threadpool_limits(threads, user_api="blas"):
                start = time.perf_counter()
                function()
                elapsed = time.perf_counter() - start
            if round_ >= warmup:
                times[name].append(elapsed)
    return {name: float(np.median(t)) for name, t in times.items()}


def peak_mib(function):
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


def training_step(model, x, t, seed):
    """One training iteration on a random batch, as the Trainer does it."""
    optimizer = Adam()
    rng = np.random.default_rng(seed)

    def step():
        batch = rng.integers(0, len(x), BATCH)
        model.forward(x[batch], t[batch])
        model.backward()
        clip_grads(model.grads, 5.0)
        optimizer.update(model.params, model.grads)
    return step


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def blas_description():
    infos = [i for i in threadpool_info() if i["user_api"] == "blas"]
    return ", ".join(f"{i['internal_api']} {i['version']} ({i.get('architecture', '?')} kernels, "
                     f"{i['num_threads']} threads by default)" for i in infos)


# The variants timed side by side: ours, the book's way, each of the book's two choices alone,
# and ours in float64 (the book's code computes in float32 too).
VARIANTS = {"ours": {}, "stepwise LSTM": dict(lstm=True, attention=False),
            "loop attention": dict(lstm=False, attention=True),
            "book style": dict(lstm=True, attention=True), "float64": {}}


def build(name, variant, V):
    model = MODELS[name](V, D, H, seed=0, dtype=np.float64 if variant == "float64" else np.float32)
    return book_style(model, **VARIANTS[variant]) if VARIANTS[variant] else model


def bench_model(name, args, data, V):
    (x_train, t_train), (x_test, t_test) = data
    products = experiment.training_products(name, BATCH, x_train.shape[1],
                                            t_train.shape[1] - 1, V, D, H)
    variants = [v for v in VARIANTS if name == "attention" or v != "loop attention"]
    functions = {}
    for threads in args.threads:
        for variant in variants:
            functions[(variant, threads)] = (threads, training_step(build(name, variant, V),
                                                                    x_train, t_train, seed=1))
        functions[("floor", threads)] = (threads, replay(products, np.random.default_rng(2)))
    iteration = interleaved(functions, args.repeats)

    ours, book = build(name, "ours", V), build(name, "book style", V)
    time_axis = time_axis_decoding(build(name, "ours", V))
    decoding = {}  # the single-step path beside the time axis, interleaved
    for threads in args.threads:
        for what, model in (("single step", ours), ("time axis", time_axis)):
            decoding[(what, threads)] = (threads, lambda model=model, threads=threads: evaluate(
                model, x_test, t_test, threads=threads))
    decoding = interleaved(decoding, repeats=3, warmup=1)
    evaluation = {threads: decoding[("single step", threads)] for threads in args.threads}
    evaluation_time_axis = {threads: decoding[("time axis", threads)] for threads in args.threads}
    best = min(args.threads, key=lambda n: iteration[("ours", n)])
    n = args.eval_questions
    with threadpool_limits(best, user_api="blas"):
        one_by_one = seconds(lambda: evaluate_one_by_one(book, x_test[:n], t_test[:n], best))
        one_by_one *= len(x_test) / n
        memory = {"training iteration, ours": peak_mib(training_step(ours, x_train, t_train, 3)),
                  "training iteration, book style": peak_mib(
                      training_step(book, x_train, t_train, 3)),
                  "batched evaluation": peak_mib(
                      lambda: evaluate(ours, x_test, t_test, threads=best))}
    return dict(model=type(ours).__name__, gflop=gflop(products), variants=variants,
                iteration={f"{v}|{t}": s for (v, t), s in iteration.items()},
                evaluation=evaluation, evaluation_time_axis=evaluation_time_axis,
                best_threads=best, one_by_one=one_by_one,
                one_by_one_measured_on=n, memory_mib=memory)


def report(name, r, threads, epoch_iters, n_test):
    it = {tuple(k.split("|")): s for k, s in r["iteration"].items()}
    lines = [f"== {name} ({r['model']}): {r['gflop']:.2f} GFLOP of matrix products per "
             f"training iteration"]
    lines.append(f"{'threads':>7} {'variant':<15} {'ms/iter':>8} {'s/epoch':>8} {'x ours':>7}")
    for t in threads:
        ours = it[("ours", str(t))]
        for variant in r["variants"] + ["floor"]:
            s = it[(variant, str(t))]
            lines.append(f"{t:>7} {variant:<15} {s * 1e3:>8.1f} {s * epoch_iters:>8.1f} "
                         f"{s / ours:>7.2f}")
        floor = it[("floor", str(t))]
        lines.append(f"{'':>7} ours/floor {ours / floor:.2f}; the floor runs at "
                     f"{r['gflop'] / floor:.1f} GFLOP/s; evaluation of {n_test} questions, "
                     f"batched: {r['evaluation'][t]:.2f} s"
                     + (f" (decoding through the time axis: "
                        f"{r['evaluation_time_axis'][t]:.2f} s)"
                        if "evaluation_time_axis" in r else ""))
    best = r["best_threads"]
    lines.append(f"with {best} thread(s): one question at a time, book style: "
                 f"{r['one_by_one']:.1f} s"
                 + (f" (measured on {r['one_by_one_measured_on']}, scaled)"
                    if r["one_by_one_measured_on"] < n_test else "")
                 + f", {r['one_by_one'] / r['evaluation'][best]:.1f}x the batched evaluation")
    lines.append("peak memory (tracemalloc): " + ", ".join(
        f"{k} {v:.0f} MiB" for k, v in r["memory_mib"].items()))
    return "\n".join(lines)


def bench_variant(name, args, data, V, pad_id, beside=None):
    """A Part 3 variant or a Transformer: its training iteration beside its matrix-product
    floor, and its batched evaluation, for each thread setting. beside: (label, model,
    ((x_train, t_train), (x_test, t_test))) of another model whose iteration is timed in the
    same rounds (the Transformer beside chapter 8's AttentionSeq2seq), stored as
    iteration["label|threads"], and whose evaluation is stored as "label_evaluation"."""
    (x_train, t_train), (x_test, t_test) = data
    T_in, T_out = x_train.shape[1], t_train.shape[1] - 1
    options = TRANSFORMERS[name] if name in TRANSFORMERS else PART3[name]
    products = experiment.training_products(name, BATCH, T_in, T_out, V, D, H)
    model = experiment.build_model(name, V, D, H, seed=0, pad_id=pad_id)
    functions = {}
    for threads in args.threads:
        functions[("ours", threads)] = (threads, training_step(
            experiment.build_model(name, V, D, H, seed=0, pad_id=pad_id), x_train, t_train, 1))
        functions[("floor", threads)] = (threads, replay(products, np.random.default_rng(2)))
        if beside:
            label, other, ((x_other, t_other), _) = beside
            functions[(label, threads)] = (threads, training_step(other, x_other, t_other, 1))
    iteration = interleaved(functions, args.variant_repeats)
    evaluation = {threads: float(np.median(
        [seconds(lambda: evaluate(model, x_test, t_test, threads=threads)) for _ in range(3)]))
        for threads in args.threads}
    figures = dict(options=options, parameters=int(sum(p.size for p in model.params)),
                   gflop=gflop(products),
                   iteration={f"{v}|{t}": s for (v, t), s in iteration.items()},
                   evaluation=evaluation)
    if beside:  # the other model's evaluation too, of its own test questions (as many)
        label, other, (_, (x_eval, t_eval)) = beside
        figures[f"{label}_evaluation"] = {threads: float(np.median(
            [seconds(lambda: evaluate(other, x_eval, t_eval, threads=threads))
             for _ in range(3)])) for threads in args.threads}
    return figures


def report_variants(results, threads, epoch_iters, n_test):
    lines = [f"{'variant':<18} {'params':>9} {'GFLOP':>6}"
             + "".join(f" {'ms/iter ' + str(t) + 't':>10} {'x floor':>7} {'eval s':>6}"
                       for t in threads)]
    for name, r in results.items():
        line = f"{name:<18} {r['parameters']:>9,} {r['gflop']:>6.2f}"
        for t in threads:
            ours, floor = r["iteration"][f"ours|{t}"], r["iteration"][f"floor|{t}"]
            line += f" {ours * 1e3:>10.1f} {ours / floor:>7.2f} {r['evaluation'][t]:>6.2f}"
        lines.append(line)
    lines.append(f"(ms/iter: median of a training iteration, {epoch_iters} an epoch; x floor: "
                 f"against its matrix products alone; eval s: {n_test} test questions, batched)")
    return "\n".join(lines)


def small_run(threads):
    """One whole run of the small preset (attention, reversed): {train, eval, total} seconds."""
    settings = experiment.PRESETS["small"]
    data = experiment.run_data(settings, "reversed")
    run = experiment.Run(experiment.Config("attention", "reversed", 0), settings, len(data[2]))
    epochs = [experiment.train_epoch(run, data, threads=threads) for _ in range(settings["epochs"])]
    train = sum(e["train_seconds"] for e in epochs)
    evaluation = sum(e["eval_seconds"] for e in epochs)
    return {"train": train, "eval": evaluation, "total": train + evaluation,
            "accuracy": epochs[-1]["accuracy"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per measurement")
    parser.add_argument("--eval-questions", type=int, default=5000,
                        help="test questions evaluated one at a time (the slow reference)")
    parser.add_argument("--small-runs", type=int, default=1,
                        help="whole small-preset runs timed per thread setting (0: none)")
    parser.add_argument("--variants", nargs="*", choices=list(PART3), default=list(PART3),
                        help="Part 3's attention variants to time (none: skip them)")
    parser.add_argument("--transformers", nargs="*", choices=list(TRANSFORMERS),
                        default=["transformer"],
                        help="Part 4's Transformers to time (none: skip them)")
    parser.add_argument("--variant-repeats", type=int, default=7,
                        help="timed rounds per measurement of a variant")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--merge", action="store_true",
                        help="update only the parts timed in this run (the models, the "
                             "variants, the Transformers, the small runs: those not switched "
                             "off) in an existing --json file, and keep the rest; the file "
                             "lists the runs merged into it (merged_runs)")
    args = parser.parse_args()
    if args.small_runs < 0:
        parser.error("--small-runs must be >= 0")

    (x_train, t_train), (x_test, t_test), vocab = load_dates(default_data_path(), reverse=True)
    V = len(vocab)
    epoch_iters = len(x_train) // BATCH
    header = (f"{platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, BLAS: "
              f"{blas_description()}\nV={V} D={D} H={H} N={BATCH} T_in={x_train.shape[1]} "
              f"T_out={t_train.shape[1] - 1}; {epoch_iters} iterations an epoch; medians of "
              f"{args.repeats} interleaved rounds")
    printed = []

    def say(text):
        printed.append(text)
        print(text, flush=True)

    say(header + "\n")
    results = {}
    for name in args.models:
        results[name] = bench_model(name, args, ((x_train, t_train), (x_test, t_test)), V)
        say(report(name, results[name], args.threads, epoch_iters, len(x_test)) + "\n")

    variants = {}
    if args.variants:
        say(f"Part 3's attention variants (seqattn.attention_variants), medians of "
            f"{args.variant_repeats} interleaved rounds:")
        for name in args.variants:
            variants[name] = bench_variant(name, args, ((x_train, t_train), (x_test, t_test)),
                                           V, vocab.char_to_id[" "])
        say(report_variants(variants, args.threads, epoch_iters, len(x_test)) + "\n")

    transformers = {}
    if args.transformers:
        # a Transformer reads its questions as written (the run it is trained in)
        (xw_train, tw_train), (xw_test, tw_test), wvocab = load_dates(default_data_path())
        say(f"Part 4's Transformers (seqattn.transformer), questions as written, medians of "
            f"{args.variant_repeats} interleaved rounds:")
        for name in args.transformers:
            transformers[name] = bench_variant(
                name, args, ((xw_train, tw_train), (xw_test, tw_test)), V, wvocab.char_to_id[" "],
                beside=("attention", AttentionSeq2seq(V, D, H, seed=0),
                        ((x_train, t_train), (x_test, t_test))))
        say(report_variants(transformers, args.threads, epoch_iters, len(x_test)))
        for name, r in transformers.items():
            for t in args.threads:
                ours, other = r["iteration"][f"ours|{t}"], r["iteration"][f"attention|{t}"]
                say(f"  {name}, {t} thread(s): {ours * 1e3:.1f} ms/iteration against "
                    f"AttentionSeq2seq's {other * 1e3:.1f} in the same rounds "
                    f"({ours / other:.2f}x); evaluation {r['evaluation'][t]:.2f} s against "
                    f"{r['attention_evaluation'][t]:.2f} s")
        say("")

    small = {}  # threads -> the timed runs
    if args.small_runs:
        say(f"a whole run of the small preset (attention, reversed, seed 0; "
            f"{experiment.PRESETS['small']}), seconds of {args.small_runs} run(s):")
        for threads in args.threads:
            runs = small[threads] = [small_run(threads) for _ in range(args.small_runs)]
            say(f"  {threads} thread(s): median {np.median([r['total'] for r in runs]):.1f} s in "
                f"all (train {np.median([r['train'] for r in runs]):.1f} s, evaluation "
                f"{np.median([r['eval'] for r in runs]):.1f} s); final accuracy "
                f"{runs[-1]['accuracy']:.1%}")
        say("")

    if results:
        say("summary, at the thread setting that measured fastest for each model:")
    for name, r in results.items():
        best = r["best_threads"]
        ours = r["iteration"][f"ours|{best}"]
        say(f"  {name:<10} {best} thread(s): {ours * 1e3:.1f} ms/iteration, "
            f"{ours / r['iteration'][f'floor|{best}']:.2f}x the matrix-product floor, "
            f"{r['iteration'][f'book style|{best}'] / ours:.2f}x faster than the book style; "
            f"evaluation {r['one_by_one'] / r['evaluation'][best]:.1f}x faster than one "
            f"question at a time")
    if args.json:
        figures = dict(header=header, repeats=args.repeats, threads=args.threads, results=results,
                       variants=variants, transformers=transformers, small_run=small,
                       report="\n".join(printed))
        if args.merge and args.json.exists():
            shipped = json.loads(args.json.read_text())
            parts = {"results": results, "variants": variants, "transformers": transformers,
                     "small_run": small}
            timed = [part for part, value in parts.items() if value]
            for part in timed:
                shipped[part] = figures[part]
            shipped.setdefault("merged_runs", []).append(dict(
                parts=timed, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                header=header, report=figures["report"]))
            figures = shipped
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
