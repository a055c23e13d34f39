"""Attention scores (book §8.4; Luong et al. 2015, Bahdanau et al. 2015): how well each
encoder state (a *key*) matches a decoder state (a *query*).

- ``DotScore``: s = q . k, the course's scoring since chapter 8 (Luong's "dot");
- ``ScaledDotScore``: s = q . k / sqrt(H), the dot product divided by the square root of the
  width, as the Transformer does, so that the scores do not grow with H;
- ``AdditiveScore``: s = v . tanh(k Wk + q Wq), Bahdanau's scoring (Luong's "concat"): a
  small one-hidden-layer network with parameters Wk (H, A), Wq (Hq, A), v (A,).

A decoder asks for scores one step at a time (the Bahdanau decoder must: each query is the
state the previous step produced) or for all its steps at once. So every score has the same
four-part protocol:

- ``start(hs)``: hs (N, T, H), the encoder states of the batch; the additive score projects
  them once here (``hs @ Wk``), not at every step;
- ``step(qs)``: qs (N, T', Hq) -> s (N, T', T), for T' >= 1 queries; its cache is kept, so
  several steps may be taken before the backward pass;
- ``step_backward(ds)``: ds (N, T', T) -> dqs, for the most recent step not yet undone (steps
  are undone last first); the gradients of hs and of the parameters are summed meanwhile;
- ``finish_backward()`` -> dhs (N, T, H), and writes ``grads`` in place.

``forward(hs, qs)`` and ``backward(ds)`` do one start and one step, as any layer of the course.
"""
import numpy as np


def _check_width(what, array, width, of):
    if np.ndim(array) != 3 or np.shape(array)[2] != width:
        raise ValueError(f"{what} must be (N, T, {width}) to match {of}, not of shape "
                         f"{np.shape(array)}")


class Score:
    """What every score shares: ``forward`` is one start and one step, ``backward`` undoes
    that step and finishes."""

    def forward(self, hs, qs):
        self.start(hs)
        return self.step(qs)

    def backward(self, ds):
        dqs = self.step_backward(ds)
        return self.finish_backward(), dqs


class DotScore(Score):
    """s[n, t', t] = qs[n, t'] . hs[n, t]: no parameters; keys and queries have the same width H."""

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.hs, self.steps, self.dhs = None, [], None

    def start(self, hs):
        self.hs, self.steps, self.dhs = hs, [], np.zeros_like(hs)

    def scale(self, H):
        return 1.0

    def step(self, qs):
        _check_width("the queries", qs, self.hs.shape[2], "the keys' width H")
        k = self.scale(self.hs.shape[2])
        self.steps.append(qs)
        return (qs @ self.hs.transpose(0, 2, 1)) * k  # (N, T', T)

    def step_backward(self, ds):
        qs = self.steps.pop()
        ds = ds * self.scale(self.hs.shape[2])
        self.dhs += ds.transpose(0, 2, 1) @ qs  # (N, T, H)
        return ds @ self.hs  # dqs (N, T', H)

    def finish_backward(self):
        return self.dhs


class ScaledDotScore(DotScore):
    """s[n, t', t] = qs[n, t'] . hs[n, t] / sqrt(H): the dot product, scaled (no parameters)."""

    def scale(self, H):
        return 1.0 / np.sqrt(H)


class AdditiveScore(Score):
    """s[n, t', t] = v . tanh(hs[n, t] Wk + qs[n, t'] Wq), Bahdanau's additive scoring.

    Parameters Wk (H, A) projects the keys, Wq (Hq, A) the queries, v (A,) reads the A hidden
    units out into one score. Keys and queries may differ in width (H != Hq).
    The step keeps E = tanh(...) of shape (N, T', T, A): the memory the additive score costs.
    """

    param_names = ("Wk", "Wq", "v")

    def __init__(self, Wk, Wq, v):
        if np.ndim(Wk) != 2 or np.ndim(Wq) != 2 or Wk.shape[1] != Wq.shape[1] or \
                np.shape(v) != (Wk.shape[1],):
            raise ValueError(f"Wk (H, A), Wq (Hq, A) and v (A,) must share A: got "
                             f"{Wk.shape}, {Wq.shape}, {v.shape}")
        self.params = [Wk, Wq, v]
        self.grads = [np.zeros_like(Wk), np.zeros_like(Wq), np.zeros_like(v)]
        self.hs = self.keys = None
        self.steps = []

    def start(self, hs):
        Wk = self.params[0]
        _check_width("the keys hs", hs, Wk.shape[0], "Wk (H, A)")
        N, T, H = hs.shape
        self.hs = hs
        self.keys = (hs.reshape(N * T, H) @ Wk).reshape(N, T, -1)  # (N, T, A), once per batch
        self.steps = []
        self.dkeys = np.zeros_like(self.keys)
        self.dWq = np.zeros_like(self.params[1])
        self.dv = np.zeros_like(self.params[2])

    def step(self, qs):
        _, Wq, v = self.params
        _check_width("the queries", qs, Wq.shape[0], "Wq (Hq, A)")
        qw = qs @ Wq  # (N, T', A)
        E = np.tanh(self.keys[:, None, :, :] + qw[:, :, None, :])  # (N, T', T, A)
        self.steps.append((qs, E))
        return E @ v  # (N, T', T)

    def step_backward(self, ds):
        _, Wq, v = self.params
        qs, E = self.steps.pop()
        self.dv += np.einsum("nsta,nst->a", E, ds)
        dpre = ds[..., None] * v  # (N, T', T, A): the gradient reaching tanh's output ...
        dpre *= 1 - E * E  # ... and its input
        self.dkeys += dpre.sum(axis=1)  # every query step read every key
        dqw = dpre.sum(axis=2)  # (N, T', A)
        A = Wq.shape[1]
        self.dWq += qs.reshape(-1, qs.shape[2]).T @ dqw.reshape(-1, A)
        return dqw @ Wq.T  # dqs (N, T', Hq)

    def finish_backward(self):
        Wk = self.params[0]
        N, T, H = self.hs.shape
        A = Wk.shape[1]
        self.grads[0][...] = self.hs.reshape(N * T, H).T @ self.dkeys.reshape(N * T, A)
        self.grads[1][...] = self.dWq
        self.grads[2][...] = self.dv
        return self.dkeys @ Wk.T  # dhs (N, T, H)


SCORES = ("dot", "scaled", "additive")
