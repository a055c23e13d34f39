"""``FeedForward``: the Transformer's position-wise feed-forward block.

x (N, T, D) -> relu(x @ W1 + b1) @ W2 + b2 (N, T, D), the same two Affine layers at every
position, with F hidden units (the paper uses F = 4D). Attention mixes the positions; this block
works on each position alone, and holds most of a layer's parameters (2DF of them against the
attention's 4D^2).

Parameters W1 (D, F), b1 (F,), W2 (F, D), b2 (D,).
"""
import numpy as np

from .layers import TimeAffine
from .seq2seq import collect_params


class FeedForward:
    """``forward(x)`` (N, T, D) -> (N, T, D); ``backward(dout)`` -> dx."""

    param_names = ("W1", "b1", "W2", "b2")

    def __init__(self, W1, b1, W2, b2):
        self.affine1, self.affine2 = TimeAffine(W1, b1), TimeAffine(W2, b2)
        self.params, self.grads, _ = collect_params(l1=self.affine1, l2=self.affine2)
        self.active = None

    def forward(self, x):
        z = self.affine1.forward(x)
        self.active = z > 0
        return self.affine2.forward(np.where(self.active, z, 0))

    def backward(self, dout):
        dz = np.where(self.active, self.affine2.backward(dout), 0)  # ReLU passes where z > 0
        return self.affine1.backward(dz)
