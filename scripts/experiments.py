"""Trains the course's grid of runs and keeps their record: {Seq2seq, PeekySeq2seq,
AttentionSeq2seq, or Part 3's variants} x question orders x seeds, one epoch at a time.

    .venv/bin/python scripts/experiments.py [--preset book|small] [--jobs 2]
        [--models attention peeky baseline] [--orders reversed as-written left-padded]
        [--seeds 0 1 2] [--set hidden_size=64 ...] [--record PATH]

After every epoch of every run the record (data/experiments.json for the book preset,
data/experiments-small.json for the small one; --record to choose) is rewritten atomically,
and the run's whole training state is saved under --state-dir (_runs/<record name>/,
git-ignored). Stop it at any time (Ctrl-C, a killed session): started again with the same
arguments, it resumes every run after its last recorded epoch, and the resumed runs continue
exactly as if they had not stopped. A run whose state file is missing starts again from epoch 1
(training is deterministic, so it reproduces its recorded epochs).

--set changes a setting of the preset (a JSON value: --set max_grad=null hidden_size=64); the
record keeps the settings, and resuming with other settings is refused.

--jobs 2 trains two runs at once in two processes with one BLAS thread each (on two cores this
trains more per hour than one run with two threads). A progress bar counts the epochs of the
whole grid and estimates the time left.

--checkpoint RUN:EPOCH:PATH (repeatable) also saves that run's model after that epoch to PATH,
as ``save_params`` does, with the vocabulary of its data, so that ``load_model(PATH)`` returns
a model ready to answer: `make experiments` ships attention-reversed-seed0 after epochs 1, 2
and 10 for chapter 8.
"""
import argparse
import json
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from seqattn import experiment as ex
from seqattn.speed import BLAS_THREADS


def parse_changes(parser, pairs):
    changes = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError("no '='")
            changes[key] = json.loads(value)
        except ValueError as e:
            parser.error(f"--set {pair!r}: expected NAME=JSON-VALUE, like hidden_size=64 ({e})")
    return changes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=list(ex.PRESETS), default="book")
    parser.add_argument("--models", nargs="+", choices=list(ex.ALL_MODELS),
                        default=list(ex.MODELS),
                        help="default: the three models of chapters 7-8; Part 3's variants by name")
    parser.add_argument("--orders", nargs="+", choices=ex.ORDERS,
                        default=["reversed", "as-written"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                        dest="changes",
                        help="change settings of the preset")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once")
    parser.add_argument("--threads", type=int,
                        help="BLAS threads per job (default: 1 with --jobs > 1, else "
                             "the package's setting, seqattn.speed.BLAS_THREADS)")
    parser.add_argument("--record", type=Path, help="the JSON record (default: the preset's)")
    parser.add_argument("--state-dir", type=Path, help="default: _runs/<record name>")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="RUN:EPOCH:PATH")
    args = parser.parse_args(argv)

    try:
        settings = ex.preset_settings(args.preset, **parse_changes(parser, args.changes))
    except ValueError as e:
        parser.error(str(e))
    epochs = settings["epochs"]
    if args.jobs < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--jobs and --threads must be >= 1")
    if any(s < 0 for s in args.seeds):
        parser.error("seeds are whole numbers >= 0")
    # one BLAS thread per job when several run at once; else the package's setting
    # (SEQATTN_BLAS_THREADS, or 1 on a 2-core machine)
    threads = args.threads or (1 if args.jobs > 1 else BLAS_THREADS)
    record_path = args.record or ex.record_path(args.preset)
    state_dir = args.state_dir or Path("_runs") / record_path.stem
    state_dir.mkdir(parents=True, exist_ok=True)

    checkpoints = {}  # run name -> {epoch: [paths]}
    for spec in args.checkpoint:
        try:
            name, epoch, path = spec.split(":", 2)
            ex.Config.from_name(name)
            checkpoints.setdefault(name, {}).setdefault(int(epoch), []).append(path)
        except ValueError as e:
            parser.error(f"--checkpoint {spec!r}: expected RUN:EPOCH:PATH ({e})")

    configs = ex.grid(args.models, args.orders, args.seeds)
    if record_path.exists():
        record = ex.load_record(record_path)
        if not ex.same_training(record["settings"], settings):
            sys.exit(f"{record_path} records runs with the settings {record['settings']}, not "
                     f"{settings}: move it away or pass --record")
        # more epochs may be added to a finished grid; the record states the most asked for
        record["settings"]["epochs"] = max(epochs, record["settings"]["epochs"])
    else:
        record = ex.new_record(args.preset, settings)
    record["machine"] = ex.machine()
    record["blas_threads_per_job"] = threads

    # Where each run stands: its epochs in the record, and a saved state that continues them.
    # A finished run needs no state (a fresh clone has none). Recorded epochs are never dropped:
    # training is deterministic, so a run trained again replaces each epoch as it comes.
    todo = {}  # run name -> epochs still to train
    for c in configs:
        run = record["runs"].setdefault(c.name, {"epochs": []})
        done, saved = len(run["epochs"]), ex.saved_epoch(state_dir, c.name)
        if done >= epochs:
            continue
        if saved > done:  # ahead of the record (a record restored from an older copy)
            (state_dir / f"{c.name}.npz").unlink()
            saved = 0
        if saved < done:
            print(f"{c.name}: {done} epochs recorded but the saved state is at epoch {saved}; "
                  f"training it again from epoch {saved + 1} (the recorded epochs stay until "
                  f"replaced)", file=sys.stderr)
        todo[c.name] = epochs - saved
    ex.write_json(record_path, record)

    total = sum(todo.values())
    print(f"{len(configs)} runs of {epochs} epochs ({args.preset} preset"
          f"{', changed: ' + ' '.join(args.changes) if args.changes else ''}): {total} epochs "
          f"to train, {args.jobs} at once with {threads} BLAS thread(s) each; "
          f"record {record_path}", flush=True)
    if not total:
        return record

    def done(name, entry, bar):
        run_epochs = record["runs"][name]["epochs"]
        if entry["epoch"] > len(run_epochs) + 1:
            # only another process can have written a state ahead of the record (say, a worker
            # of an earlier run of this command that outlived it): the epochs between are lost
            sys.exit(f"{name} trained epoch {entry['epoch']} but the record has only "
                     f"{len(run_epochs)}: its saved state in {state_dir} was written by another "
                     f"process. Stop every process of this command, delete "
                     f"{state_dir / (name + '.npz')} and run the command again.")
        if entry["epoch"] <= len(run_epochs):
            run_epochs[entry["epoch"] - 1] = entry
        else:
            run_epochs.append(entry)
        ex.write_json(record_path, record)
        todo[name] -= 1
        bar.update(1)
        tqdm.write(f"{name:<28} epoch {entry['epoch']:>2}  loss {entry['loss']:.4f}  accuracy "
                   f"{entry['accuracy']:7.2%}  train {entry['train_seconds']:6.1f} s  eval "
                   f"{entry['eval_seconds']:5.1f} s")

    started = time.perf_counter()
    bar = tqdm(total=total, unit="epoch", smoothing=0, dynamic_ncols=True)
    try:
        if args.jobs == 1:
            for name in todo:
                while todo[name]:
                    done(*ex.work_one_epoch(name, settings, state_dir, threads, checkpoints.get(name, {})),
                         bar)
        else:
            queue = list(todo)  # runs not yet started, in grid order
            running = {}  # future -> run name
            ctx = get_context("spawn")  # no fork: a forked OpenBLAS can deadlock
            with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
                def submit(name):
                    running[pool.submit(ex.work_one_epoch, name, settings, str(state_dir), threads,
                                        checkpoints.get(name, {}))] = name

                while queue and len(running) < args.jobs:
                    submit(queue.pop(0))
                while running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        name = running.pop(future)
                        done(*future.result(), bar)
                        if todo[name]:
                            submit(name)
                        elif queue:
                            submit(queue.pop(0))
    except KeyboardInterrupt:
        bar.close()
        sys.exit("stopped: run the same command again to resume")
    bar.close()
    print(f"done in {time.perf_counter() - started:.0f} s; record {record_path}")
    return record


if __name__ == "__main__":
    main()
