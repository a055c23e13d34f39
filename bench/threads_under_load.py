"""One BLAS thread or two, on an idle machine and beside other busy programs
(``make bench-threads``): the measurement behind the package's default thread count.

It times a training iteration of AttentionSeq2seq at the book's settings and the batched
evaluation of 1,000 test questions, with 1 and with 2 BLAS threads, interleaved round by round,
while 0, 1, ... (``--busy``) other processes keep a core each busy with a plain Python loop, as a
browser, a second notebook or another training would. It prints the medians and the ratio of
two threads to one, and writes them to _build/bench/threads.json.

    .venv/bin/python bench/threads_under_load.py [--busy 0 1 2] [--repeats 7]
"""
import argparse
import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from seqattn import AttentionSeq2seq, default_data_path, load_dates
from seqattn.optim import Adam, clip_grads
from seqattn.speed import available_cores
from seqattn.train import predict


def spin(stop):
    """A busy core: counts until told to stop."""
    n = 0
    while not stop.is_set():
        n += 1


def measure(functions, repeats):
    times = {key: [] for key in functions}
    for round_ in range(repeats + 1):  # the first round warms up
        for (what, threads), function in functions.items():
            with threadpool_limits(threads, user_api="blas"):
                start = time.perf_counter()
                function()
                elapsed = time.perf_counter() - start
            if round_:
                times[what, threads].append(elapsed)
    return {key: float(np.median(t)) for key, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", nargs="+", type=int, default=[0, 1, 2],
                        help="how many busy processes beside the measurement")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=Path("_build/bench/threads.json"))
    args = parser.parse_args()

    (x, t), (x_test, t_test), vocab = load_dates(default_data_path(), reverse=True)
    model = AttentionSeq2seq(len(vocab), 16, 256, seed=0)
    optimizer, rng = Adam(), np.random.default_rng(0)

    def train_step():
        batch = rng.integers(0, len(x), 128)
        model.forward(x[batch], t[batch])
        model.backward()
        clip_grads(model.grads, 5.0)
        optimizer.update(model.params, model.grads)

    def evaluation(threads):
        return lambda: predict(model, x_test[:1000], vocab.start_id, t_test.shape[1] - 1,
                               threads=threads)

    functions = {}
    for n in (1, 2):
        functions["training iteration", n] = train_step
        functions["evaluation of 1,000", n] = evaluation(n)
    print(f"{available_cores()} cores; medians of {args.repeats} interleaved rounds, seconds")
    print(f"{'busy':>4}  {'what':<20} {'1 thread':>9} {'2 threads':>10} {'2 / 1':>6}")
    results = []
    context = multiprocessing.get_context("spawn")
    for busy in args.busy:
        stop = context.Event()
        spinners = [context.Process(target=spin, args=(stop,)) for _ in range(busy)]
        for p in spinners:
            p.start()
        time.sleep(1.0)
        try:
            medians = measure(functions, args.repeats)
        finally:
            stop.set()
            for p in spinners:
                p.join()
        for what in ("training iteration", "evaluation of 1,000"):
            one, two = medians[what, 1], medians[what, 2]
            results.append(dict(busy=busy, what=what, one=one, two=two))
            print(f"{busy:>4}  {what:<20} {one:9.3f} {two:10.3f} {two / one:6.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(dict(cores=available_cores(), load=os.getloadavg(),
                                         results=results), indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
