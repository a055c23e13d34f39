"""``MultiHeadAttention``: h attentions side by side, each on its own projection of the inputs.

One attention gives each query one set of weights: one question it can ask. h heads ask h
questions at once. The inputs (width D) are projected to queries, keys and values (D each),
and the D columns are split into h heads of d = D / h: head j uses columns j*d .. (j+1)*d - 1.
Each head attends on its own (``ScaledDotProductAttention``); their outputs are put side by side
again (D columns) and mixed by a last projection Wo. Splitting costs nothing extra: h heads of
width d do the products of one head of width D.

Shapes: xq (N, Tq, D) the inputs the queries come from, xkv (N, Tk, D) those the keys and
values come from (the same array in self-attention; the encoder's output in cross-attention);
out (N, Tq, D); ``attention_weights`` (N, h, Tq, Tk).

Parameters: Wq, Wk, Wv, Wo (D, D) and bq, bv, bo (D,). There is no bias on the keys: it would
add q . bk to every score of a query's row, and a softmax ignores a shift of its whole row, so
bk could never change the output, and its gradient is exactly 0. (Frameworks keep one; the
gradient check found it unused: ``gradcheck.GradCheck.unused``.)
"""
import numpy as np

from .checks import check_whole_number
from .qkv_attention import ScaledDotProductAttention


def split_heads(x, heads):
    """(N, T, D) -> (N, h, T, D / h): head j gets columns j*d .. (j+1)*d - 1."""
    N, T, D = x.shape
    return x.reshape(N, T, heads, D // heads).transpose(0, 2, 1, 3)


def merge_heads(x):
    """(N, h, T, d) -> (N, T, h*d): the heads side by side again (split_heads undone)."""
    N, h, T, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(N, T, h * d)


class MultiHeadAttention:
    """``forward(xq, xkv, mask=None)`` -> (N, Tq, D); ``backward(dout)`` -> (dxq, dxkv).

    mask: broadcasts to (N, h, Tq, Tk), True where a query may look (``qkv_attention``).
    For self-attention pass the same array twice and add the two gradients.
    """

    param_names = ("Wq", "bq", "Wk", "Wv", "bv", "Wo", "bo")

    def __init__(self, Wq, bq, Wk, Wv, bv, Wo, bo, heads):
        D = Wq.shape[0]
        check_whole_number("heads", heads, 1)
        if D % heads:
            raise ValueError(f"the model's width D = {D} must split into heads = {heads} "
                             f"heads of equal width (D % heads == 0)")
        for name, W in (("Wq", Wq), ("Wk", Wk), ("Wv", Wv), ("Wo", Wo)):
            if W.shape != (D, D):
                raise ValueError(f"{name} must be ({D}, {D}), not {W.shape}")
        self.heads = heads
        self.params = [Wq, bq, Wk, Wv, bv, Wo, bo]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.attention = ScaledDotProductAttention()
        self.cache = None
        self.attention_weights = None

    def forward(self, xq, xkv, mask=None):
        Wq, bq, Wk, Wv, bv, Wo, bo = self.params
        h = self.heads
        q = split_heads(xq @ Wq + bq, h)  # (N, h, Tq, d)
        k, v = self.keys_values(xkv)  # (N, h, Tk, d) each
        heads_out = merge_heads(self.attention.forward(q, k, v, mask))  # (N, Tq, D)
        self.attention_weights = self.attention.attention_weights
        self.cache = (xq, xkv, heads_out)
        return heads_out @ Wo + bo

    # --- decoding, one position at a time (no backward) -----------------------------------

    def keys_values(self, xkv):
        """xkv (N, Tk, D) -> the keys and values of its positions, (N, h, Tk, d) each. When
        decoding, they are made once (the encoder's output) or one position a step (the
        answer so far), and kept: ``attend`` reads them."""
        _, _, Wk, Wv, bv, _, _ = self.params
        return split_heads(xkv @ Wk, self.heads), split_heads(xkv @ Wv + bv, self.heads)

    def attend(self, xq, k, v, mask=None):
        """forward's output for queries xq (N, Tq, D) and keys and values made before by
        ``keys_values``; keeps nothing for backward. ``attention_weights`` as in forward."""
        Wq, bq, _, _, _, Wo, bo = self.params
        out = self.attention.forward(split_heads(xq @ Wq + bq, self.heads), k, v, mask)
        self.attention_weights = self.attention.attention_weights
        self.attention.cache = None
        return merge_heads(out) @ Wo + bo

    def backward(self, dout):
        Wq, bq, Wk, Wv, bv, Wo, bo = self.params
        dWq, dbq, dWk, dWv, dbv, dWo, dbo = self.grads
        xq, xkv, heads_out = self.cache
        D = Wq.shape[0]

        def flat(x):
            return x.reshape(-1, D)

        dWo[...] = flat(heads_out).T @ flat(dout)
        dbo[...] = flat(dout).sum(axis=0)
        dq, dk, dv = (merge_heads(g) for g in
                      self.attention.backward(split_heads(dout @ Wo.T, self.heads)))
        dWq[...] = flat(xq).T @ flat(dq)
        dbq[...] = flat(dq).sum(axis=0)
        dWk[...] = flat(xkv).T @ flat(dk)
        dWv[...] = flat(xkv).T @ flat(dv)
        dbv[...] = flat(dv).sum(axis=0)
        return dq @ Wq.T, dk @ Wk.T + dv @ Wv.T
