"""The attention layers: gradients, shapes, and the loop and batched versions agreeing."""
import numpy as np
import pytest

from seqattn.attention import (Attention, AttentionWeight, BatchedTimeAttention, TimeAttention,
                               WeightSum)
from seqattn.gradcheck import check_layer

TOL = 1e-6
N, T, T_DEC, H = 2, 5, 3, 4


@pytest.fixture
def rng():
    return np.random.default_rng(1)


def test_weight_sum(rng):
    hs, a = rng.standard_normal((N, T, H)), rng.random((N, T))
    c = WeightSum().forward(hs, a)
    assert c.shape == (N, H)
    np.testing.assert_allclose(c[1], sum(a[1, t] * hs[1, t] for t in range(T)))
    assert check_layer(WeightSum(), hs, a).max_relative_error < TOL


def test_attention_weight(rng):
    hs, h = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    a = AttentionWeight().forward(hs, h)
    assert a.shape == (N, T)
    np.testing.assert_allclose(a.sum(axis=1), 1)
    scores = hs[0] @ h[0]  # dot-product scoring
    np.testing.assert_allclose(a[0], np.exp(scores) / np.exp(scores).sum())
    assert check_layer(AttentionWeight(), hs, h).max_relative_error < TOL


def test_attention_worked_example():
    """Batch of 1, T = 3, H = 2: the example the book's chapter works by hand."""
    hs = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    h = np.array([[2.0, 0.0]])
    layer = Attention()
    c = layer.forward(hs, h)
    e = np.exp([2.0, 0.0, 2.0])
    a = e / e.sum()
    np.testing.assert_allclose(layer.attention_weight, [a])
    np.testing.assert_allclose(c, [[a[0] + a[2], a[1] + a[2]]])


def test_attention(rng):
    hs, h = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    assert Attention().forward(hs, h).shape == (N, H)
    assert check_layer(Attention(), hs, h, input_names=["hs", "h"]).max_relative_error < TOL


@pytest.mark.parametrize("layer_class", [TimeAttention, BatchedTimeAttention])
def test_time_attention(rng, layer_class):
    hs_enc, hs_dec = rng.standard_normal((N, T, H)), rng.standard_normal((N, T_DEC, H))
    layer = layer_class()
    assert layer.forward(hs_enc, hs_dec).shape == (N, T_DEC, H)
    assert layer.attention_weights.shape == (N, T_DEC, T)
    result = check_layer(layer_class(), hs_enc, hs_dec, input_names=["hs_enc", "hs_dec"])
    assert result.max_relative_error < TOL


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loop_and_batched_agree(rng, dtype):
    hs_enc = rng.standard_normal((8, 29, 16)).astype(dtype)
    hs_dec = rng.standard_normal((8, 10, 16)).astype(dtype)
    dout = rng.standard_normal((8, 10, 16)).astype(dtype)
    loop, batched = TimeAttention(), BatchedTimeAttention()
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    out_loop, out_batched = loop.forward(hs_enc, hs_dec), batched.forward(hs_enc, hs_dec)
    assert out_batched.dtype == dtype
    np.testing.assert_allclose(out_batched, out_loop, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(batched.attention_weights, loop.attention_weights,
                               rtol=rtol, atol=rtol)
    for g_batched, g_loop in zip(batched.backward(dout), loop.backward(dout)):
        assert g_batched.dtype == dtype
        np.testing.assert_allclose(g_batched, g_loop, rtol=rtol, atol=10 * rtol)
