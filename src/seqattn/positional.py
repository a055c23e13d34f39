"""Positions: ``sinusoidal_encoding`` and ``PositionalEmbedding``.

Attention compares every query with every key, and nothing in it knows where a key stands: swap
two characters of a question and each query gets the same weights on the same characters, and
the same context. "1984" and "4891" would look alike. An RNN knows order because it reads
one character after another; a Transformer has to be told. Each position t gets a vector
pe[t] (D,) that is added to the character's vector.

We use the paper's sinusoids, not learned position vectors:

    pe[t, 2i] = sin(t / 10000^(2i/D)),   pe[t, 2i + 1] = cos(t / 10000^(2i/D))

Each pair of columns is a clock at its own speed: the first turns once every 2 pi positions,
the last hardly at all. They cost no parameters and no gradient, exist for any length, and
pe[t + k] is a rotation of pe[t] that depends only on k, so a head can find "the character k
places back" with one linear map. Vaswani et al. found learned vectors no better; with
questions of one fixed length, learned ones would work as well, but would add T * D parameters
to check and train.

The character vectors are multiplied by sqrt(D), as in the paper: drawn with variance 1/D,
they then have entries of about the size of pe's (|pe| <= 1).
"""
import math

import numpy as np

from .layers import TimeEmbedding


def sinusoidal_encoding(T, D, dtype=np.float64):
    """(T, D): row t is position t's vector (D even)."""
    if D % 2:
        raise ValueError(f"sinusoidal positions pair their columns: D must be even, not {D}")
    t = np.arange(T)[:, None]
    rates = 10000.0 ** (-np.arange(0, D, 2) / D)  # (D/2,)
    pe = np.empty((T, D))
    pe[:, 0::2] = np.sin(t * rates)
    pe[:, 1::2] = np.cos(t * rates)
    return pe.astype(dtype)


class PositionalEmbedding:
    """Character ids (N, T) -> W[ids] * sqrt(D) + pe[:T] (N, T, D). Parameter W (V, D).

    ``positions = False`` leaves pe out (W[ids] * sqrt(D) alone): to see, in a trained model,
    what the positions are for.
    """

    param_names = ("W",)

    def __init__(self, W):
        self.embed = TimeEmbedding(W)
        self.params, self.grads = self.embed.params, self.embed.grads
        self.scale = math.sqrt(W.shape[1])
        self.positions = True
        self._pe = np.zeros((0, W.shape[1]), dtype=W.dtype)

    def encoding(self, T):
        """pe[:T] (T, D), in W's dtype (computed once for the longest T asked)."""
        if T > len(self._pe):
            W = self.params[0]
            self._pe = sinusoidal_encoding(T, W.shape[1], W.dtype)
        return self._pe[:T]

    def forward(self, xs, start=0):
        """xs (N, T) ids at positions start .. start + T - 1 (start > 0: decoding, one
        position at a time)."""
        out = self.embed.forward(xs) * self.scale
        if self.positions:
            out += self.encoding(start + xs.shape[1])[start:]
        return out

    def backward(self, dout):
        self.embed.backward(dout * self.scale)
        return None
