"""Seq2seq with attention (chapter 8): ``AttentionEncoder``, ``AttentionDecoder``,
``AttentionSeq2seq``.

The encoder hands over *all* its hidden states hs (N, T, H), not only the last one. At every
step the decoder compares its own state with each of them (dot-product attention), takes the
weighted sum as a context vector c, and predicts the next character from [c, h] (N, 2H).
"""
import numpy as np

from .attention import BatchedTimeAttention
from .seq2seq import Decoder, Encoder, Seq2seq, collect_params


class AttentionEncoder(Encoder):
    """xs (N, T) -> hs (N, T, H): every hidden state, for the decoder to attend to."""

    def forward(self, xs):
        self.hs = self.lstm.forward(self.embed.forward(xs))
        return self.hs

    def backward(self, dhs):
        self.embed.backward(self.lstm.backward(dhs))


class AttentionDecoder(Decoder):
    """xs (N, T') previous characters, enc_hs (N, T, H) -> scores (N, T', V).

    ``attention`` is ``BatchedTimeAttention``; the book's step-by-step ``TimeAttention``
    computes the same thing, more slowly (``model.decoder.attention = TimeAttention()``).
    """

    def __init__(self, vocab_size, wordvec_size, hidden_size, init):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = init.time_embedding(V, D)
        self.lstm = init.time_lstm(D, H, stateful=True)
        self.attention = BatchedTimeAttention()
        self.affine = init.time_affine(2 * H, V)  # reads [context, LSTM output]
        self.params, self.grads, self.param_names = collect_params(
            embed=self.embed, lstm=self.lstm, affine=self.affine)

    def start(self, enc_hs):
        self.lstm.set_state(enc_hs[:, -1])  # the decoder still starts from the last state

    def _step(self, xs, enc_hs):
        """The forward pass after ``start``: xs (N, T'), enc_hs (N, T, H) -> scores (N, T', V)."""
        dec_hs = self.lstm.forward(self.embed.forward(xs))
        c = self.attention.forward(enc_hs, dec_hs)
        return self.affine.forward(np.concatenate((c, dec_hs), axis=2))

    def decoding_step(self, enc_hs):
        """``Decoder.decoding_step`` with attention: the new state h (N, H) queries enc_hs,
        and the scores are [c, h] W + b, as two products (no concatenation)."""
        Wx, _, b = self.lstm.params
        table = self.embed.params[0] @ Wx + b  # (V, 4H)
        W, b_out = self.affine.params
        H = enc_hs.shape[2]

        def step(ids):
            h = self.lstm.step(table[ids])
            c = self.attention.forward(enc_hs, h[:, None, :])[:, 0]  # keeps this step's weights
            return c @ W[:H] + h @ W[H:] + b_out
        return step

    def backward(self, dscore):
        dout = self.affine.backward(dscore)
        H = dout.shape[2] // 2
        dc, ddec_hs0 = dout[:, :, :H], dout[:, :, H:]
        denc_hs, ddec_hs1 = self.attention.backward(dc)
        dout = self.lstm.backward(ddec_hs0 + ddec_hs1)  # dec_hs fed the Affine and the attention
        self.embed.backward(dout)
        denc_hs[:, -1] += self.lstm.dh  # ... and the last encoder state was the initial state
        return denc_hs

    def generate(self, enc_hs, start_id, sample_size):
        """Greedy decoding: enc_hs (N, T, H) -> ids (N, sample_size), and the attention weights
        of every step it decoded, (N, sample_size, T)."""
        ids, weights = [], []
        for x in self.decode_steps(enc_hs, start_id, sample_size):
            ids.append(x)
            weights.append(self.attention.attention_weights[:, 0])  # this step's (N, T)
        return np.stack(ids, axis=1), np.stack(weights, axis=1)


class AttentionSeq2seq(Seq2seq):
    """Seq2seq with dot-product attention.

    ``generate(xs, start_id, n)`` returns the ids (N, n) and the attention weights (N, n, T) of
    the model's own decoding: row k of a sample's map shows where the model looked while it
    wrote its k-th character.
    """

    encoder_class = AttentionEncoder
    decoder_class = AttentionDecoder
