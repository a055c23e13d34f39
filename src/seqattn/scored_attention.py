"""Attention with a choice of score and a padding mask: ``ScoredAttention``.

Chapter 8's ``BatchedTimeAttention`` scores with the dot product and spreads its weights over
every position of the question, padding included. Here the score is a layer of
``seqattn.scores`` (dot, scaled dot, additive) and an optional mask (N, T) says which positions
hold a character: masked scores become -inf before the softmax, so padding gets a weight of
exactly 0, and its gradient is exactly 0 too (the softmax's backward multiplies by a).

Shapes: hs (N, T, H) encoder states; qs (N, T', Hq) decoder states that query them;
a (N, T', T) weights; contexts (N, T', H).
"""
import numpy as np

from .functions import softmax


def masked_softmax(s, mask):
    """Softmax over the last axis of s (N, T', T), with the positions where mask (N, T) is
    False left out: their weight is exactly 0. mask=None leaves nothing out."""
    if mask is None:
        return softmax(s)
    return softmax(np.where(mask[:, None, :], s, -np.inf))


def softmax_backward(a, da):
    """The gradient of the softmax's input, from its output a and the gradient da (same shape)."""
    return a * (da - (a * da).sum(axis=-1, keepdims=True))


def check_mask(mask, N, T):
    """mask: None, or a boolean (N, T) with at least one True per row (a question with no
    character has nothing to attend to)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (N, T):
        raise ValueError(f"the mask must be a boolean array of shape {(N, T)} (True where the "
                         f"question has a character), not {mask.dtype} {mask.shape}")
    if not mask.any(axis=1).all():
        raise ValueError(f"rows {np.flatnonzero(~mask.any(axis=1)).tolist()} of the mask are "
                         f"all False: a question without characters has nothing to attend to")
    return mask


class ScoredAttention:
    """Attention over the encoder states with a given score layer and an optional mask.

    ``start(hs, mask=None)`` once per batch, then ``forward(qs)`` -> contexts (N, T', H), as
    many times as the decoder takes steps; ``backward(dcontexts)`` -> dqs undoes the latest
    step; ``finish_backward()`` -> dhs (N, T, H). ``attention_weights`` (N, T', T) are the
    weights of the latest step. ``clear()`` forgets the steps taken (decoding keeps no caches).

    Parameters: those of the score (none for dot products; Wk, Wq, v for the additive score).
    """

    def __init__(self, score):
        self.score = score
        self.params, self.grads, self.param_names = (score.params, score.grads,
                                                     list(score.param_names))
        self.hs = self.mask = self.attention_weights = None
        self.steps = []

    def start(self, hs, mask=None):
        self.hs, self.mask = hs, check_mask(mask, *hs.shape[:2])
        self.score.start(hs)
        self.steps, self.dhs = [], np.zeros_like(hs)

    def clear(self):
        self.steps.clear()
        self.score.steps.clear()

    def forward(self, qs):
        a = masked_softmax(self.score.step(qs), self.mask)  # (N, T', T)
        self.steps.append(a)
        self.attention_weights = a
        return a @ self.hs  # (N, T', H): each step's weighted sum of the encoder states

    def backward(self, dcontexts):
        a = self.steps.pop()
        self.dhs += a.transpose(0, 2, 1) @ dcontexts  # the weighted sum's share of dhs
        da = dcontexts @ self.hs.transpose(0, 2, 1)  # (N, T', T)
        return self.score.step_backward(softmax_backward(a, da))

    def finish_backward(self):
        return self.dhs + self.score.finish_backward()  # hs were summed and scored
