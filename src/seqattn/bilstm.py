"""A bidirectional LSTM (book §8.4.1): ``TimeBiLSTM``.

One LSTM reads the question from its first character to its last, a second one from its last
to its first, and the hidden state at position t puts the two together: what the forward LSTM
has read up to t, and what the backward LSTM has read from the end back to t. An encoder built
on it gives attention columns that know both sides of their character.
"""
import numpy as np

from .layers import TimeLSTM
from .seq2seq import collect_params

MERGES = ("concat", "sum")


class TimeBiLSTM:
    """forward: xs (N, T, D) -> hs (N, T, 2H) with merge="concat" ([h_fwd, h_bwd] at each t),
    or (N, T, H) with merge="sum" (h_fwd + h_bwd). backward: dhs (same shape) -> dxs (N, T, D).

    Parameters: the forward LSTM's Wx (D, 4H), Wh (H, 4H), b (4H,), then the backward one's,
    named "forward.Wx", ..., "backward.b". Both start every sequence from zero states.
    """

    def __init__(self, Wx_f, Wh_f, b_f, Wx_b, Wh_b, b_b, merge="concat"):
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {MERGES}, not {merge!r}")
        if Wh_f.shape != Wh_b.shape:
            raise ValueError(f"the two LSTMs need the same hidden size: Wh {Wh_f.shape} and "
                             f"{Wh_b.shape}")
        self.merge = merge
        self.forward_lstm = TimeLSTM(Wx_f, Wh_f, b_f)
        self.backward_lstm = TimeLSTM(Wx_b, Wh_b, b_b)
        self.params, self.grads, self.param_names = collect_params(
            forward=self.forward_lstm, backward=self.backward_lstm)

    def forward(self, xs):
        hs_f = self.forward_lstm.forward(xs)
        hs_b = self.backward_lstm.forward(xs[:, ::-1])[:, ::-1]  # back in reading order
        if self.merge == "concat":
            return np.concatenate((hs_f, hs_b), axis=2)
        return hs_f + hs_b

    def backward(self, dhs):
        if self.merge == "concat":
            H = dhs.shape[2] // 2
            dhs_f, dhs_b = dhs[:, :, :H], dhs[:, :, H:]
        else:
            dhs_f = dhs_b = dhs  # a sum passes its gradient to both terms
        dxs = self.forward_lstm.backward(np.ascontiguousarray(dhs_f))
        dxs_b = self.backward_lstm.backward(np.ascontiguousarray(dhs_b[:, ::-1]))
        return dxs + dxs_b[:, ::-1]  # xs fed both LSTMs
