"""``LayerNorm`` (Ba et al. 2016): each position's vector scaled to mean 0 and variance 1, then
stretched and shifted by learned gamma and beta.

x (..., D) -> y = gamma * (x - mean) / sqrt(var + eps) + beta, mean and var over the last axis.
Unlike batch normalization it looks at one position at a time, so it behaves the same in
training and decoding and for any batch size.

Backward, with x_hat = (x - mean) / sigma and g = dy * gamma:
dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sigma.
The two means are the paths through mean and var: every output depends on every input of its
position.
"""
import numpy as np


class LayerNorm:
    """x (..., D) -> (..., D). Parameters gamma (D,), beta (D,)."""

    param_names = ("gamma", "beta")

    def __init__(self, gamma, beta, eps=1e-5):
        self.params = [gamma, beta]
        self.grads = [np.zeros_like(gamma), np.zeros_like(beta)]
        self.eps = eps
        self.cache = None

    def forward(self, x):
        gamma, beta = self.params
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        sigma = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + self.eps)
        x_hat = centred / sigma
        self.cache = (x_hat, sigma)
        return x_hat * gamma + beta

    def backward(self, dy):
        gamma, _ = self.params
        x_hat, sigma = self.cache
        D = x_hat.shape[-1]
        self.grads[0][...] = (dy * x_hat).reshape(-1, D).sum(axis=0)
        self.grads[1][...] = dy.reshape(-1, D).sum(axis=0)
        g = dy * gamma
        return (g - g.mean(axis=-1, keepdims=True)
                - x_hat * (g * x_hat).mean(axis=-1, keepdims=True)) / sigma
