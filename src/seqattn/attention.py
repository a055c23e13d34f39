"""Attention, as chapter 8 of *Deep Learning from Scratch 2* builds it from tiny layers.

The score of encoder state ``hs[:, t]`` for decoder state ``h`` is their dot product, so this
is *dot-product* (Luong-style) attention, not the additive scoring of Bahdanau et al.:

    s_t = hs_t . h            (AttentionWeight: scores, then softmax over t -> weights a)
    c   = sum_t a_t * hs_t    (WeightSum: the context vector)

``WeightSum`` -> ``AttentionWeight`` -> ``Attention`` (one decoder step) -> ``TimeAttention``
(every decoder step, a Python loop as in the book). ``BatchedTimeAttention`` computes exactly
the same thing for all decoder steps with two batched matrix products; the models use it, and
the tests check that the two agree forward and backward.

Shapes: hs (N, T, H) encoder states; h (N, H) one decoder state; a (N, T) attention weights;
c (N, H) context. In the ``Time*`` layers the decoder has its own length, written T' here.
"""
import numpy as np

from .functions import softmax


class WeightSum:
    """Context vector: hs (N, T, H), a (N, T) -> c (N, H) = sum over t of a[:, t] * hs[:, t]."""

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, a):
        ar = a[:, :, None]  # (N, T, 1): broadcasting repeats it along H (the book uses repeat)
        self.cache = (hs, ar)
        return (hs * ar).sum(axis=1)

    def backward(self, dc):
        hs, ar = self.cache
        dt = dc[:, None, :]  # (N, 1, H): the sum over t sends dc to every step
        dhs = dt * ar
        da = (dt * hs).sum(axis=2)
        return dhs, da


class AttentionWeight:
    """Attention weights: hs (N, T, H), h (N, H) -> a (N, T) = softmax_t(hs[:, t] . h)."""

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, h):
        hr = h[:, None, :]  # (N, 1, H), broadcast along T
        s = (hs * hr).sum(axis=2)  # (N, T) dot-product scores
        a = softmax(s)
        self.cache = (hs, hr, a)
        return a

    def backward(self, da):
        hs, hr, a = self.cache
        ds = a * (da - (a * da).sum(axis=1, keepdims=True))  # softmax backward
        dt = ds[:, :, None]
        dhs = dt * hr
        dh = (dt * hs).sum(axis=1)
        return dhs, dh


class Attention:
    """One decoder step: hs (N, T, H), h (N, H) -> context c (N, H).

    Keeps the weights of the last call in ``attention_weight`` (N, T), for visualisation.
    """

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.attention_weight_layer = AttentionWeight()
        self.weight_sum_layer = WeightSum()
        self.attention_weight = None

    def forward(self, hs, h):
        a = self.attention_weight_layer.forward(hs, h)
        self.attention_weight = a
        return self.weight_sum_layer.forward(hs, a)

    def backward(self, dc):
        dhs0, da = self.weight_sum_layer.backward(dc)
        dhs1, dh = self.attention_weight_layer.backward(da)
        return dhs0 + dhs1, dh  # hs feeds both the weights and the sum


class TimeAttention:
    """Attention for every decoder step, looping over them as the book does.

    forward: hs_enc (N, T, H), hs_dec (N, T', H) -> contexts (N, T', H).
    ``attention_weights`` (N, T', T): the weights of every step, stacked (the book keeps a list).
    backward: dout (N, T', H) -> dhs_enc (N, T, H), dhs_dec (N, T', H).
    """

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.layers = None
        self.attention_weights = None

    def forward(self, hs_enc, hs_dec):
        N, T_dec, H = hs_dec.shape
        out = np.empty_like(hs_dec)
        self.layers = []
        for t in range(T_dec):
            layer = Attention()
            out[:, t, :] = layer.forward(hs_enc, hs_dec[:, t, :])
            self.layers.append(layer)
        self.attention_weights = np.stack([layer.attention_weight for layer in self.layers], axis=1)
        return out

    def backward(self, dout):
        dhs_enc = 0
        dhs_dec = np.empty_like(dout)
        for t, layer in enumerate(self.layers):
            dhs, dh = layer.backward(dout[:, t, :])
            dhs_enc = dhs_enc + dhs  # every decoder step looked at all encoder states
            dhs_dec[:, t, :] = dh
        return dhs_enc, dhs_dec


class BatchedTimeAttention:
    """``TimeAttention`` for all decoder steps at once, with batched matrix products.

    forward: hs_enc (N, T, H), hs_dec (N, T', H) -> contexts (N, T', H).
    ``attention_weights`` is one array (N, T', T): row t' holds decoder step t''s weights.
    backward: dout (N, T', H) -> dhs_enc (N, T, H), dhs_dec (N, T', H).

    The book's per-step sums become matrix products over the batch:
    scores = hs_dec @ hs_enc^T (N, T', T), a = softmax over T, contexts = a @ hs_enc.
    """

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self.attention_weights = None

    def forward(self, hs_enc, hs_dec):
        a = softmax(hs_dec @ hs_enc.transpose(0, 2, 1))  # (N, T', T)
        self.cache = (hs_enc, hs_dec, a)
        self.attention_weights = a
        return a @ hs_enc

    def backward(self, dout):
        hs_enc, hs_dec, a = self.cache
        da = dout @ hs_enc.transpose(0, 2, 1)  # (N, T', T)
        ds = a * (da - (a * da).sum(axis=2, keepdims=True))  # softmax backward
        dhs_enc = a.transpose(0, 2, 1) @ dout + ds.transpose(0, 2, 1) @ hs_dec
        dhs_dec = ds @ hs_enc
        return dhs_enc, dhs_dec
