"""Optimizers and gradient clipping.

An optimizer's ``update(params, grads)`` changes every parameter array in place, so the layers,
which hold the same arrays, see the new values at once.
"""
import numbers

import numpy as np


class SGD:
    """Plain stochastic gradient descent: p -= lr * g."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for p, g in zip(params, grads):
            p -= self.lr * g


class Adam:
    """Adam (Kingma & Ba, 2015), written as in the book.

    m and v are running means of g and g^2; the step size lr_t folds in the bias correction
    of both, so the first steps are not too small.
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.iter = 0
        self.m, self.v = None, None

    def update(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        t = self.iter
        # Python floats, so a float32 model stays float32 (a NumPy float64 scalar would upcast)
        lr_t = self.lr * (1 - self.beta2 ** t) ** 0.5 / (1 - self.beta1 ** t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= lr_t * m / (np.sqrt(v) + self.eps)


def check_max_norm(max_norm, name="max_norm"):
    """Raises unless max_norm is a number > 0, inf or None (no clipping): a negative bound
    would flip the gradients' sign and make training climb the loss, and 0 would freeze it."""
    if max_norm is None:
        return
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"{name} must be a number > 0 (or None or inf: no clipping), "
                        f"not {max_norm!r}")
    if not max_norm > 0:  # also catches nan
        raise ValueError(f"{name} must be > 0 (or None or inf: no clipping), not {max_norm!r}: "
                         "a negative bound reverses the gradients, 0 freezes training")


def clip_grads(grads, max_norm):
    """Scales all gradients down together when their global L2 norm exceeds max_norm
    (> 0; None or inf clip nothing).

    Works in place and returns the norm before clipping (worth logging: spikes show
    exploding gradients).
    """
    check_max_norm(max_norm)
    if max_norm is None:
        max_norm = np.inf
    total_norm = np.sqrt(sum(float((g * g).sum()) for g in grads))
    rate = max_norm / (total_norm + 1e-6)
    if rate < 1:
        for g in grads:
            g *= rate
    return total_norm
