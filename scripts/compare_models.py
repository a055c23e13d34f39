"""Trains Seq2seq, PeekySeq2seq and AttentionSeq2seq with the book's settings on data/date.txt
and prints, per epoch, the mean training loss, the exact-match test accuracy, the seconds of
training and the seconds to evaluate the whole test split.

    .venv/bin/python scripts/compare_models.py --epochs 3 [--models attention peeky baseline]

--json writes every model's per-iteration losses and per-epoch figures (the book's comparison
figure is drawn from it); --checkpoint saves the trained AttentionSeq2seq (the book ships both,
made by `make checkpoint`).
"""
import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.checkpoint import save_params
from seqattn.data import default_data_path, load_dates
from seqattn.optim import Adam
from seqattn.peeky_seq2seq import PeekySeq2seq
from seqattn.seq2seq import Seq2seq
from seqattn.train import Trainer, evaluate

MODELS = {"baseline": Seq2seq, "peeky": PeekySeq2seq, "attention": AttentionSeq2seq}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the histories to this file")
    parser.add_argument("--checkpoint", type=Path, help="save the AttentionSeq2seq here")
    args = parser.parse_args()
    settings = dict(wordvec_size=16, hidden_size=256, batch_size=128, lr=0.001, max_grad=5.0,
                    reversed_input=True, seed=args.seed, blas_threads=args.blas_threads)
    results = {"settings": settings, "machine": platform.processor() or platform.machine(),
               "models": {}}

    (x_train, t_train), (x_test, t_test), vocab = load_dates(default_data_path(), reverse=True)
    print(f"train {x_train.shape}, test {x_test.shape}, {vocab}")
    with threadpool_limits(args.blas_threads, user_api="blas"):
        blas = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()
                if i["user_api"] == "blas"]
        print(f"BLAS: {blas}")
        print(f"{'model':<10} {'epoch':>5} {'loss':>7} {'accuracy':>9} {'train s':>8} {'eval s':>7}")
        for name in args.models:
            model = MODELS[name](len(vocab), 16, 256, seed=args.seed)
            trainer = Trainer(model, Adam(lr=0.001), seed=args.seed)
            record = results["models"][name] = {
                "class": type(model).__name__, "accuracy": [], "train_seconds": [],
                "eval_seconds": [], "loss": trainer.loss_history}
            for epoch in range(1, args.epochs + 1):
                start = time.perf_counter()
                trainer.fit(x_train, t_train, epochs=1, batch_size=128, max_grad=5.0,
                            progress=False)
                train_s = time.perf_counter() - start
                start = time.perf_counter()
                accuracy = evaluate(model, x_test, t_test)
                eval_s = time.perf_counter() - start
                loss = np.mean(trainer.loss_history[-(len(x_train) // 128):])
                print(f"{name:<10} {epoch:>5} {loss:>7.4f} {accuracy:>9.2%} {train_s:>8.1f} "
                      f"{eval_s:>7.2f}", flush=True)
                record["accuracy"].append(accuracy)
                record["train_seconds"].append(round(train_s, 2))
                record["eval_seconds"].append(round(eval_s, 3))
            if name == "attention" and args.checkpoint:
                save_params(model, args.checkpoint, epochs=args.epochs,
                            accuracy=record["accuracy"], settings=settings)
                print(f"saved {args.checkpoint}")
    if args.json:
        for record in results["models"].values():
            record["loss"] = [round(v, 5) for v in record["loss"]]
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
