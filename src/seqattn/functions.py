"""Element-wise functions shared by the layers.

They work on arrays of any shape and keep the input's dtype, so the same code runs in float32 for
training and in float64 for gradient checks.
"""
import numpy as np


def sigmoid_inplace(x):
    """x <- sigmoid(x) = 1 / (1 + exp(-x)), in place, computed as 0.5 * (1 + tanh(x / 2)).

    The tanh form never overflows (exp(-x) does, with a warning, for large negative x in
    float32), and working in place needs no temporary arrays: the LSTM calls it at every step.
    """
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def softmax(x):
    """Softmax over the last axis: x (..., V) -> probabilities (..., V) that sum to 1."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))  # the shift changes nothing but avoids overflow
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    """log(softmax(x)) over the last axis, computed without taking the log of a tiny number."""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
