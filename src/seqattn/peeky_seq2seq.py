"""Peeky seq2seq (chapter 7.4): every decoder step also sees the encoder's summary h.

The baseline decoder meets h only as its initial state; after a few steps the LSTM may have
overwritten it. The peeky decoder concatenates h to the input of the LSTM and of the Affine
layer at every step, so the LSTM's Wx grows to (H + D, 4H) and the Affine's W to (H + H, V).
"""
import numpy as np

from .seq2seq import Decoder, Seq2seq, collect_params


class PeekyDecoder(Decoder):
    """xs (N, T) previous characters, h (N, H) -> scores (N, T, V), with h fed to every step."""

    def __init__(self, vocab_size, wordvec_size, hidden_size, init):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = init.time_embedding(V, D)
        self.lstm = init.time_lstm(H + D, H, stateful=True)  # reads [h, word vector]
        self.affine = init.time_affine(H + H, V)  # reads [h, LSTM output]
        self.params, self.grads, self.param_names = collect_params(
            embed=self.embed, lstm=self.lstm, affine=self.affine)
        self.H = H

    def _step(self, xs, h):
        """The forward pass after ``start``: xs (N, T), h (N, H) -> scores (N, T, V)."""
        N, T = xs.shape
        hs = np.broadcast_to(h[:, None, :], (N, T, self.H))  # h repeated at every step
        out = self.lstm.forward(np.concatenate((hs, self.embed.forward(xs)), axis=2))
        return self.affine.forward(np.concatenate((hs, out), axis=2))

    def decoding_step(self, h):
        """``Decoder.decoding_step`` with h's shares computed once: h's part of the LSTM's input
        product, h Wx[:H] (N, 4H), and of the scores, h W[:H] + b (N, V)."""
        H = self.H
        Wx, _, b = self.lstm.params
        table = self.embed.params[0] @ Wx[H:] + b  # (V, 4H): the word vectors' part
        peek = h @ Wx[:H]
        W, b_out = self.affine.params
        peek_scores = h @ W[:H] + b_out

        def step(ids):
            return peek_scores + self.lstm.step(table[ids] + peek) @ W[H:]
        return step

    def backward(self, dscore):
        H = self.H
        dout = self.affine.backward(dscore)
        dhs0, dout = dout[:, :, :H], dout[:, :, H:]
        dout = self.lstm.backward(dout)
        dhs1, dembed = dout[:, :, :H], dout[:, :, H:]
        self.embed.backward(dembed)
        # h reached the loss three ways: the initial state, and every step's two concatenations
        return self.lstm.dh + (dhs0 + dhs1).sum(axis=1)


class PeekySeq2seq(Seq2seq):
    """Seq2seq with the peeky decoder; the encoder is unchanged."""

    decoder_class = PeekyDecoder
