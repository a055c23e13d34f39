"""The speed tools: the matrix-product count, its replay, and the per-layer profile."""
import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.optim import Adam
from seqattn.speed import gflop, iteration_products, profile_iteration, replay


def test_attention_iteration_does_about_8_6_gflop():
    # encoder 29 steps and decoder 10, H = 256: 2 * 128 * 256 * 1024 FLOP per recurrent product
    # (8.689 GFLOP, less the 0.067 the stateless encoder skips: the gradient of its zero state)
    products = iteration_products("attention", 128, 29, 10, 59, 16, 256)
    assert gflop(products) == pytest.approx(8.689 - 2 * 128 * 1024 * 256 / 1e9, abs=0.001)
    # h @ Wh and dA @ Wh.T at every step, and dWh over all steps, make up 90% of it
    with_Wh = 2 * 128 * 256 * 1024 * ((29 + 28 + 10 + 10) + (29 + 10))
    assert 0.89 < with_Wh / 1e9 / gflop(products) < 0.91


def test_products_match_the_shapes_the_model_multiplies():
    """Every product listed for a tiny model has shapes that the model's arrays can take."""
    N, T_in, T_out, V, D, H = 3, 5, 4, 7, 2, 6
    products = iteration_products("attention", N, T_in, T_out, V, D, H)
    assert len(products) == (1 + T_in + (T_in - 1) + 3) + (1 + T_out + T_out + 3) + 6 + 3
    assert (1, N, H, 4 * H, False, False) in products  # h @ Wh
    assert (N, T_out, H, T_in, False, True) in products  # attention scores
    assert (1, N * T_out, 2 * H, V, False, False) in products  # Affine on [c, h]
    with pytest.raises(ValueError, match="unknown model 'transformer'"):
        iteration_products("transformer", N, T_in, T_out, V, D, H)


def test_replay_multiplies_the_listed_shapes_in_the_listed_layout():
    products = [(1, 4, 3, 2, False, True), (5, 2, 3, 4, True, False)]
    run = replay(products, np.random.default_rng(0))
    assert len(run.operands) == len(products)
    for (b, m, k, n, a_t, b_t), (a, w) in zip(products, run.operands):
        assert (a @ w).shape == ((m, n) if b == 1 else (b, m, n))
        assert a.dtype == w.dtype == np.float32
        # a transposed operand is a view of a C-ordered array (as W.T is): not C-contiguous
        assert a.flags.c_contiguous != a_t and w.flags.c_contiguous != b_t


def test_profile_puts_the_time_where_it_is_spent(monkeypatch):
    """A layer made 20 ms slower per call shows up, by name, as the slowest part, at its cost."""
    import time

    model = AttentionSeq2seq(11, 4, 8)
    rng = np.random.default_rng(0)
    x, t = rng.integers(0, 11, (6, 7)), rng.integers(0, 11, (6, 5))
    affine_backward = model.decoder.affine.backward

    def slow_backward(dout):
        time.sleep(0.02)
        return affine_backward(dout)

    monkeypatch.setattr(model.decoder.affine, "backward", slow_backward)
    rows = profile_iteration(model, Adam(), x, t, clip=5.0, repeats=3)
    names = [name for name, _ in rows]
    for part in ("encoder.lstm forward", "encoder.lstm backward", "decoder.attention forward",
                 "softmax forward", "clip + Adam"):
        assert part in names, part
    assert rows[0][0] == "decoder.affine backward" and 20 <= rows[0][1] < 40
    assert names[-1] == "total" and rows[-1][1] >= rows[0][1]
    # the wrappers are gone again: the slow method we set is back in place
    assert model.decoder.affine.backward is slow_backward
    assert "forward" not in vars(model.encoder.lstm)


def test_thread_setting_from_the_environment(monkeypatch):
    from seqattn import speed

    monkeypatch.setenv("SEQATTN_BLAS_THREADS", "1")
    assert speed._blas_threads_setting() == 1
    monkeypatch.delenv("SEQATTN_BLAS_THREADS")
    assert speed._blas_threads_setting() == speed.DEFAULT_BLAS_THREADS
    for bad in ("two", "0", "-1"):
        monkeypatch.setenv("SEQATTN_BLAS_THREADS", bad)
        with pytest.raises(ValueError, match=f"SEQATTN_BLAS_THREADS.*{bad!r}"):
            speed._blas_threads_setting()
