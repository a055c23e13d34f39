"""Where attention goes (book §8.4.2): the Bahdanau-style decoder, ``BahdanauDecoder``.

Chapter 8's decoder (Luong et al. 2015's placement) first runs its LSTM, then lets the new
state h_t query the encoder, and predicts from [c_t, h_t]. Bahdanau et al. (2015) attend
*before* the LSTM step: the previous state h_{t-1} queries the encoder, and the context c_t
enters the LSTM's input with the word vector:

    Luong:     h_t = LSTM(x_t, h_{t-1});        c_t = attend(hs, h_t);      y_t = Affine([c_t, h_t])
    Bahdanau:  c_t = attend(hs, h_{t-1});       h_t = LSTM([x_t, c_t], h_{t-1});  y_t = Affine([c_t, h_t])

(Here both read the output from [c_t, h_t], so that only the placement differs.) Because c_t
depends on h_{t-1}, the steps cannot run as one ``TimeLSTM`` call: the decoder loops over them
with one ``LSTM`` cell per step, all sharing the same Wx (D + H, 4H), Wh and b, and the
backward pass walks the loop back, step by step.
"""
import numpy as np

from .layers import LSTM
from .seq2seq import collect_params


class _CellParams:
    param_names = ("Wx", "Wh", "b")

    def __init__(self, lstm):
        self.params, self.grads = lstm.params, lstm.grads


class BahdanauDecoder:
    """xs (N, T') previous characters, enc (the encoder's ``hs`` (N, T, H), ``states`` [(N, H)],
    ``mask``) -> scores (N, T', V).

    attention: a ``ScoredAttention``; its queries are the decoder's previous states (H wide).
    Parameters: "embed.W", "lstm.Wx" (D + H, 4H), "lstm.Wh", "lstm.b", the score's, "affine.W"
    (2H, V), "affine.b". ``attention_weights`` (N, T', T): the weights of the latest pass.
    """

    def __init__(self, vocab_size, wordvec_size, hidden_size, init, attention):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.D = D
        self.embed = init.time_embedding(V, D)
        self.lstm = _CellParams(init.time_lstm(D + H, H, stateful=True))  # reads [x_t, c_t]
        self.attention = attention
        self.affine = init.time_affine(2 * H, V)  # reads [c_t, h_t]
        self.params, self.grads, self.param_names = collect_params(
            embed=self.embed, lstm=self.lstm, attention=attention, affine=self.affine)
        self.h = self.c = self.attention_weights = None
        self.cells = []

    def start(self, enc):
        self.attention.start(enc.hs, enc.mask)
        self.h = enc.states[0]
        self.c = np.zeros_like(self.h)

    def _step(self, xs, enc):
        """The forward pass after ``start``: continues from the state the last call left."""
        self.attention.clear()
        xv = self.embed.forward(xs)  # (N, T', D)
        N, T = xs.shape
        h, c = self.h, self.c
        contexts = np.empty((N, T, h.shape[1]), dtype=h.dtype)
        hs = np.empty_like(contexts)
        weights = []
        self.cells = []
        for t in range(T):
            context = self.attention.forward(h[:, None, :])[:, 0]  # h_{t-1} queries
            weights.append(self.attention.attention_weights[:, 0])
            cell = LSTM(*self.lstm.params)  # the same arrays at every step
            h, c = cell.forward(np.concatenate((xv[:, t], context), axis=1), h, c)
            self.cells.append(cell)
            contexts[:, t], hs[:, t] = context, h
        self.h, self.c = h, c
        self.attention_weights = np.stack(weights, axis=1)  # (N, T', T)
        return self.affine.forward(np.concatenate((contexts, hs), axis=2))

    def forward(self, xs, enc):
        self.start(enc)
        return self._step(xs, enc)

    def backward(self, dscore):
        """dscore (N, T', V) -> (dhs (N, T, H), [dh0 (N, H)]): the gradients of the encoder's
        states and of the initial state."""
        dout = self.affine.backward(dscore)
        H = dout.shape[2] // 2
        dcontexts, dhs_out = dout[:, :, :H], dout[:, :, H:]
        N, T, _ = dout.shape
        dxv = np.empty((N, T, self.D), dtype=dout.dtype)
        for g in self.lstm.grads:
            g[...] = 0
        dh = np.zeros((N, H), dtype=dout.dtype)  # reaching h_t from step t + 1
        dc = np.zeros_like(dh)
        for t in reversed(range(T)):
            cell = self.cells[t]
            dx, dh_prev, dc = cell.backward(dhs_out[:, t] + dh, dc)
            for total, g in zip(self.lstm.grads, cell.grads):
                total += g  # the cells share their parameters: their gradients add up
            dxv[:, t] = dx[:, :self.D]
            dcontext = dx[:, self.D:] + dcontexts[:, t]  # c_t fed the LSTM and the Affine
            dq = self.attention.backward(dcontext[:, None, :])[:, 0]
            dh = dh_prev + dq  # h_{t-1} fed step t's LSTM and its query
        self.embed.backward(dxv)
        return self.attention.finish_backward(), [dh]
