"""Deeper LSTMs (book §8.4.3): ``TimeStackedLSTM``, L TimeLSTMs on top of each other, with
optional residual (skip) connections.

Layer 1 reads the word vectors (D wide) and every layer above reads the hidden states of the
one below (H wide). With ``skip=True`` a layer whose input is as wide as its output adds the
input to what it computes, as ResNets do:

    out_1 = LSTM_1(xs)                          (D -> H: widths differ, no skip)
    out_l = LSTM_l(out_{l-1}) + out_{l-1}       (l >= 2, H -> H)

In the backward pass the sum sends its gradient both through LSTM_l and straight down, so the
bottom layers receive the top's gradient undiminished by the layers in between.
"""
import numpy as np

from .seq2seq import collect_params


class TimeStackedLSTM:
    """xs (N, T, D) -> hs (N, T, H) of the top layer.

    lstms: TimeLSTMs (all stateful or all not), the first reading D, the others H; skip: add
    each layer's input to its output where the widths agree. Parameters "layer1.Wx", ...
    ``states()`` are the last hidden states of every layer [(N, H)] (for a decoder to start
    from); ``set_state(hs)`` starts every layer from its own h; after ``backward``, ``dh`` lists
    the gradients of those initial states (stateful stacks only).
    """

    def __init__(self, lstms, skip=False):
        if not lstms:
            raise ValueError("a stack needs at least one LSTM")
        self.lstms, self.skip = list(lstms), bool(skip)
        self.params, self.grads, self.param_names = collect_params(
            **{f"layer{k}": lstm for k, lstm in enumerate(self.lstms, 1)})
        self.dh = None

    @property
    def stateful(self):
        return self.lstms[0].stateful

    def _skips(self, layer, xs):
        return self.skip and layer > 0 and xs.shape[2] == self.lstms[layer].params[1].shape[0]

    def set_state(self, hs):
        """hs: one initial hidden state (N, H) per layer."""
        if len(hs) != len(self.lstms):
            raise ValueError(f"{len(self.lstms)} layers need {len(self.lstms)} states, "
                             f"not {len(hs)}")
        for lstm, h in zip(self.lstms, hs):
            lstm.set_state(h)

    def states(self):
        return [lstm.h for lstm in self.lstms]

    def forward(self, xs):
        self.skipped = []
        for layer, lstm in enumerate(self.lstms):
            out = lstm.forward(xs)
            skipped = self._skips(layer, xs)
            if skipped:
                out = out + xs  # the residual connection
            self.skipped.append(skipped)
            xs = out
        return xs

    def backward(self, dhs, dlast=None):
        """dhs (N, T, H): gradient of the top layer's output; dlast: None, or one (N, H) per
        layer, the gradient of that layer's last hidden state (which a decoder started from)
        -> dxs (N, T, D)."""
        dh = []
        for layer in reversed(range(len(self.lstms))):
            lstm = self.lstms[layer]
            dout = dhs
            if dlast is not None:
                dout = dout.copy()
                dout[:, -1] += dlast[layer]
            dxs = lstm.backward(dout)
            if self.skipped[layer]:
                dxs = dxs + dhs  # the skip passed dhs straight to the layer's input
            dh.append(lstm.dh)
            dhs = dxs
        self.dh = dh[::-1] if self.stateful else None
        return dhs
