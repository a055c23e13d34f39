"""Queries, keys and values: chapter 8's attention in the Transformer's words, and
``ScaledDotProductAttention`` with masks (Vaswani et al. 2017, "Attention Is All You Need").

Chapter 8's decoder state h (N, H) asked the encoder states hs (N, T, H) a question: the scores
``hs @ h`` said how well each position matched, the softmax turned them into weights a (N, T),
and the context was the weighted sum ``a @ hs``. The same hs played two roles:

- as **keys** k, the things a question is compared with (the scores);
- as **values** v, the things that are summed (the context);

and h was the **query** q. The Transformer keeps the roles apart, and gives each its own
projection of the inputs (``multi_head``); here the three arrive already made. With q = h and
k = v = hs, and without the 1/sqrt(d) below, this layer computes chapter 8's context.

Scaling: the dot product of two vectors of d independent numbers of variance 1 has variance
d. Dividing by sqrt(d) keeps the scores near variance 1 at any width, so that the softmax starts
neither saturated (one weight near 1, gradients near 0) nor flat.

Masks say which keys a query may look at: True where it may. A masked score becomes -inf, so
its weight is exactly 0 and, since the softmax's backward multiplies by the weight, so is its
gradient. Two kinds:

- ``padding`` (N, 1, 1, Tk): the spaces that pad a question to T characters are no keys;
- ``causal_mask(T)`` (T, T): in the decoder, position i may look at positions j <= i only, so
  that training on a whole answer at once (teacher forcing) lets no position see the
  character it is asked to predict.

Shapes: q (N, h, Tq, d), k and v (N, h, Tk, d), out (N, h, Tq, d), weights (N, h, Tq, Tk);
h heads of width d (``multi_head`` splits the model's width D into h * d).
"""
import math

import numpy as np

from .functions import softmax


def causal_mask(T):
    """(T, T) bool: row i is True at columns 0..i (a position sees itself and what came before)."""
    return np.tril(np.ones((T, T), dtype=bool))


def check_attention_mask(mask, shape):
    """mask: None, or a boolean array that broadcasts to shape (N, h, Tq, Tk) and leaves every
    query at least one key (a row of -inf scores has no softmax)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"an attention mask must be boolean (True where a query may look), "
                         f"not {mask.dtype}")
    try:
        full = np.broadcast_to(mask, shape)
    except ValueError:
        raise ValueError(f"an attention mask of shape {mask.shape} does not broadcast to the "
                         f"scores' shape {shape} (N, h, Tq, Tk)") from None
    if not full.any(axis=-1).all():
        raise ValueError("the mask leaves a query no key at all: every row needs one True "
                         "(a question with no character has nothing to attend to)")
    return mask


class ScaledDotProductAttention:
    """softmax(q k^T / sqrt(d), masked) v: q (N, h, Tq, d), k, v (N, h, Tk, d) -> (N, h, Tq, d).

    ``forward(q, k, v, mask=None)``; ``backward(dout)`` -> (dq, dk, dv). No parameters.
    ``attention_weights`` (N, h, Tq, Tk) are the weights of the latest forward.
    """

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self.attention_weights = None

    def forward(self, q, k, v, mask=None):
        scale = 1 / math.sqrt(q.shape[-1])  # a Python float: keeps float32 arrays float32
        s = (q @ k.swapaxes(-1, -2)) * scale  # (N, h, Tq, Tk)
        mask = check_attention_mask(mask, s.shape)
        if mask is not None:
            s = np.where(mask, s, -np.inf)
        a = softmax(s)
        self.cache = (q, k, v, a, scale)
        self.attention_weights = a
        return a @ v

    def backward(self, dout):
        q, k, v, a, scale = self.cache
        dv = a.swapaxes(-1, -2) @ dout  # each value collects the weight it was given
        da = dout @ v.swapaxes(-1, -2)
        ds = a * (da - (a * da).sum(axis=-1, keepdims=True))  # softmax's backward: 0 where a = 0
        ds *= scale
        dq = ds @ k
        dk = ds.swapaxes(-1, -2) @ q
        return dq, dk, dv
