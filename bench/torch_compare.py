"""Our batched evaluation beside the same model in PyTorch, on the CPU (``make bench-torch``).

The PyTorch model is built from the shipped AttentionSeq2seq's own weights
(``data/attention_seq2seq.npz``): nn.Embedding, nn.LSTM (its gates reordered from the book's
f, g, i, o to PyTorch's i, f, g, o), dot-product attention with torch.bmm and an nn.Linear on
[c, h]; it decodes greedily 256 questions at a time, as ``seqattn.predict`` does. The script
checks that both write the same answers, then times the evaluation of the 5,000 test questions
with 1 and 2 threads, interleaved round by round, and also ours as it decoded before single
steps (through the time axis, with 2 BLAS threads on one batch at a time).

Run in its own environment, never in ``make test``: ``make bench-torch`` installs PyTorch into
.venv-torch (TORCH_SPEC picks the wheel: PyPI's Linux wheel pulls CUDA libraries; a CPU build,
such as ``torch --index-url https://download.pytorch.org/whl/cpu``, is enough).
"""
import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from seqattn import default_data_path, load_dates, load_model, predict
from seqattn.reference import time_axis_decoding


class TorchAttentionSeq2seq(torch.nn.Module):
    """The shipped model's weights in PyTorch layers, for greedy decoding only."""

    def __init__(self, model):
        super().__init__()
        enc, dec = model.encoder, model.decoder
        V, D = enc.embed.params[0].shape
        H = enc.lstm.params[1].shape[0]
        self.enc_embed, self.dec_embed = torch.nn.Embedding(V, D), torch.nn.Embedding(V, D)
        self.enc_lstm = torch.nn.LSTM(D, H, batch_first=True)
        self.dec_lstm = torch.nn.LSTM(D, H, batch_first=True)
        self.affine = torch.nn.Linear(2 * H, V)
        order = np.r_[2 * H:3 * H, 0:H, H:2 * H, 3 * H:4 * H]  # i, f, g, o from f, g, i, o
        with torch.no_grad():
            for embed, ours in ((self.enc_embed, enc.embed), (self.dec_embed, dec.embed)):
                embed.weight.copy_(torch.from_numpy(ours.params[0]))
            for lstm, ours in ((self.enc_lstm, enc.lstm), (self.dec_lstm, dec.lstm)):
                Wx, Wh, b = ours.params
                lstm.weight_ih_l0.copy_(torch.from_numpy(Wx.T[order]))
                lstm.weight_hh_l0.copy_(torch.from_numpy(Wh.T[order]))
                lstm.bias_ih_l0.copy_(torch.from_numpy(b[order]))
                lstm.bias_hh_l0.zero_()
            W, b = dec.affine.params
            self.affine.weight.copy_(torch.from_numpy(W.T))
            self.affine.bias.copy_(torch.from_numpy(b))

    @torch.inference_mode()
    def generate(self, xs, start_id, length):
        hs, _ = self.enc_lstm(self.enc_embed(xs))  # (N, T, H)
        h = hs[:, -1].unsqueeze(0).contiguous()
        state = (h, torch.zeros_like(h))  # the decoder starts from the last state, c = 0
        ids = torch.full((len(xs), 1), start_id, dtype=torch.long)
        out = []
        for _ in range(length):
            dec_h, state = self.dec_lstm(self.dec_embed(ids), state)  # (N, 1, H)
            weights = torch.softmax(torch.bmm(dec_h, hs.transpose(1, 2)), dim=2)  # (N, 1, T)
            context = torch.bmm(weights, hs)  # (N, 1, H)
            ids = self.affine(torch.cat((context, dec_h), dim=2)).argmax(dim=2)
            out.append(ids)
        return torch.cat(out, dim=1)


def torch_predict(net, x, start_id, length, batch_size=256):
    return np.concatenate([net.generate(torch.from_numpy(x[s:s + batch_size]), start_id,
                                        length).numpy() for s in range(0, len(x), batch_size)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    _, (x_test, t_test), vocab = load_dates(default_data_path(), reverse=True)
    model, _ = load_model(default_data_path().parent / "attention_seq2seq.npz")
    before = time_axis_decoding(load_model(default_data_path().parent /
                                           "attention_seq2seq.npz")[0])
    net = TorchAttentionSeq2seq(model).eval()
    A, start = t_test.shape[1] - 1, vocab.start_id

    ours = predict(model, x_test, start, A, threads=1)[0]
    theirs = torch_predict(net, x_test, start, A)
    same = (ours == theirs).all(axis=1).mean()
    print(f"torch {torch.__version__}: the same answer to {same:.2%} of the "
          f"{len(x_test)} test questions; numpy {np.__version__}")

    def ours_before(threads):  # time-axis decoding, one batch at a time with n BLAS threads
        with threadpool_limits(threads, user_api="blas"):
            for s in range(0, len(x_test), 256):
                before.generate(x_test[s:s + 256], start, A)

    def pytorch(threads):
        torch.set_num_threads(threads)
        torch_predict(net, x_test, start, A)

    functions = {}
    for threads in (1, 2):
        functions["seqattn, before", threads] = lambda n=threads: ours_before(n)
        functions["seqattn", threads] = lambda n=threads: predict(model, x_test, start, A,
                                                                  threads=n)
        functions["PyTorch", threads] = lambda n=threads: pytorch(n)
    times = {key: [] for key in functions}
    for round_ in range(args.repeats + 1):  # the first round warms up
        for key, function in functions.items():
            begin = time.perf_counter()
            function()
            if round_:
                times[key].append(time.perf_counter() - begin)
    print(f"seconds to evaluate {len(x_test)} questions, medians of {args.repeats} "
          f"interleaved rounds:")
    print(f"{'':<17} {'1 thread':>9} {'2 threads':>10}")
    for what in ("seqattn, before", "seqattn", "PyTorch"):
        one, two = (float(np.median(times[what, n])) for n in (1, 2))
        print(f"{what:<17} {one:9.2f} {two:10.2f}")


if __name__ == "__main__":
    main()
