"""The three seq2seq models: whole-model gradient checks, shapes, and batched generation."""
import numpy as np
import pytest

from seqattn.attention import TimeAttention
from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.gradcheck import check_model, randomize_params
from seqattn.peeky_seq2seq import PeekySeq2seq
from seqattn.seq2seq import Seq2seq

TOL = 1e-6
V, D, H = 6, 3, 4
N, T_IN, T_OUT = 2, 5, 3
MODELS = [Seq2seq, PeekySeq2seq, AttentionSeq2seq]


def data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (n, T_IN)), rng.integers(0, V, (n, T_OUT + 1))


@pytest.mark.parametrize("model_class", MODELS)
def test_whole_model_gradients(model_class):
    model = randomize_params(model_class(V, D, H, seed=1, dtype=np.float64))
    result = check_model(model, *data())
    assert len(result.rows) == len(model.params)
    assert result.max_relative_error < TOL, f"\n{result}"
    assert not result.unused, f"the loss does not depend on {result.unused}"


def test_attention_model_gradients_with_the_loop_attention():
    model = randomize_params(AttentionSeq2seq(V, D, H, seed=1, dtype=np.float64))
    model.decoder.attention = TimeAttention()
    assert check_model(model, *data()).max_relative_error < TOL


def test_parameter_names_and_shapes():
    model = AttentionSeq2seq(V, D, H)
    shapes = dict(zip(model.param_names, (p.shape for p in model.params)))
    assert shapes == {
        "encoder.embed.W": (V, D), "encoder.lstm.Wx": (D, 4 * H),
        "encoder.lstm.Wh": (H, 4 * H), "encoder.lstm.b": (4 * H,),
        "decoder.embed.W": (V, D), "decoder.lstm.Wx": (D, 4 * H),
        "decoder.lstm.Wh": (H, 4 * H), "decoder.lstm.b": (4 * H,),
        "decoder.affine.W": (2 * H, V), "decoder.affine.b": (V,)}
    peeky = dict(zip(PeekySeq2seq(V, D, H).param_names, (p.shape for p in PeekySeq2seq(V, D, H).params)))
    assert peeky["decoder.lstm.Wx"] == (H + D, 4 * H) and peeky["decoder.affine.W"] == (2 * H, V)
    assert all(p.dtype == np.float32 for p in model.params)
    assert len({id(p) for p in model.params}) == len(model.params)  # no shared arrays


@pytest.mark.parametrize("model_class", MODELS)
def test_same_seed_same_weights(model_class):
    a, b, c = model_class(V, D, H, seed=3), model_class(V, D, H, seed=3), model_class(V, D, H, seed=4)
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params))
    assert not all(np.array_equal(p, q) for p, q in zip(a.params, c.params))


def _generated_ids(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("model_class", MODELS)
def test_batched_generate_equals_one_at_a_time(model_class):
    model = model_class(V, D, H, seed=2, dtype=np.float64)
    xs, _ = data(seed=5, n=7)
    ids = _generated_ids(model.generate(xs, 0, T_OUT))
    assert ids.shape == (7, T_OUT)
    for k in range(7):
        np.testing.assert_array_equal(_generated_ids(model.generate(xs[k:k + 1], 0, T_OUT)),
                                      ids[k:k + 1])


def test_generate_returns_the_maps_of_its_own_decoding():
    """The maps come from the decoded answer: a teacher-forced pass fed the model's own
    output reproduces them exactly, while one fed other characters does not."""
    model = AttentionSeq2seq(V, D, H, seed=2, dtype=np.float64)
    xs, ts = data(seed=6, n=4)
    ids, weights = model.generate(xs, 0, T_OUT)
    assert weights.shape == (4, T_OUT, T_IN)
    np.testing.assert_allclose(weights.sum(axis=2), 1)

    own = np.concatenate([np.zeros((4, 1), dtype=ids.dtype), ids], axis=1)
    model.forward(xs, own)
    np.testing.assert_allclose(model.decoder.attention.attention_weights, weights, rtol=1e-12)
    other = (own + 1) % V
    other[:, 0] = 0
    model.forward(xs, other)
    assert not np.allclose(model.decoder.attention.attention_weights[:, 1:], weights[:, 1:])


def test_per_sample_start_ids():
    model = Seq2seq(V, D, H, seed=2, dtype=np.float64)
    xs, _ = data(n=2)
    both = model.generate(xs, np.array([1, 2]), T_OUT)
    np.testing.assert_array_equal(both[0], model.generate(xs[:1], 1, T_OUT)[0])
    np.testing.assert_array_equal(both[1], model.generate(xs[1:], 2, T_OUT)[0])
