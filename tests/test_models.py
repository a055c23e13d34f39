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


# --- greedy decoding's single-step path ------------------------------------------------------------

@pytest.mark.parametrize("cls", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
def test_the_decoding_step_gives_the_scores_of_the_time_step_path(cls):
    rng = np.random.default_rng(0)
    model = randomize_params(cls(13, 5, 8, seed=0, dtype=np.float64))
    xs = rng.integers(13, size=(6, 7))
    ids = rng.integers(13, size=(4, 6))  # the inputs of 4 steps, one id per sample
    decoder, summary = model.decoder, model.encoder.forward(xs)
    decoder.start(summary)
    step = decoder.decoding_step(summary)
    fast = []
    for k in range(4):
        fast.append((step(ids[k]), getattr(decoder, "attention", None)
                     and decoder.attention.attention_weights.copy()))
    decoder.start(summary)  # the same steps through the time axis, one character at a time
    for k in range(4):
        scores = decoder._step(ids[k][:, None], summary)[:, 0]
        np.testing.assert_allclose(fast[k][0], scores, rtol=1e-12, atol=1e-12)
        if cls is AttentionSeq2seq:
            np.testing.assert_allclose(fast[k][1], decoder.attention.attention_weights,
                                       rtol=1e-12, atol=1e-12)
    # and generate decodes with it: its ids are the argmax of these scores, fed back
    decoder.start(summary)
    expected, x = [], np.full(6, 2)
    for k in range(3):
        x = decoder._step(x[:, None], summary)[:, 0].argmax(axis=1)
        expected.append(x)
    got = model.generate(xs, 2, 3)
    np.testing.assert_array_equal(got[0] if isinstance(got, tuple) else got,
                                  np.stack(expected, axis=1))


def test_a_subclass_that_changes_step_decodes_through_it():
    # chapter 6's exercise: an attention decoder whose Affine reads the context only
    from seqattn.attention_seq2seq import AttentionDecoder

    class ContextOnly(AttentionDecoder):
        def _step(self, xs, enc_hs):
            dec_hs = self.lstm.forward(self.embed.forward(xs))
            c = self.attention.forward(enc_hs, dec_hs)
            return self.affine.forward(np.concatenate((c, 0 * dec_hs), axis=2))

    class Model(AttentionSeq2seq):
        decoder_class = ContextOnly

    rng = np.random.default_rng(1)
    model = randomize_params(Model(13, 5, 8, seed=0, dtype=np.float64))
    xs = rng.integers(13, size=(6, 7))
    ids, _ = model.generate(xs, 2, 4)
    decoder, enc_hs = model.decoder, model.encoder.forward(xs)
    decoder.start(enc_hs)
    x, expected = np.full((6, 1), 2), []
    for _ in range(4):
        x = decoder._step(x, enc_hs).argmax(axis=2)
        expected.append(x[:, 0])
    np.testing.assert_array_equal(ids, np.stack(expected, axis=1))


def test_time_axis_decoding_decodes_as_the_single_step_on_one_core_and_on_two():
    from seqattn.reference import time_axis_decoding
    from seqattn.train import predict

    rng = np.random.default_rng(2)
    xs = rng.integers(13, size=(40, 7))
    model = randomize_params(AttentionSeq2seq(13, 5, 8, seed=0, dtype=np.float64))
    slow = time_axis_decoding(randomize_params(AttentionSeq2seq(13, 5, 8, seed=0,
                                                                dtype=np.float64)))
    expected = predict(model, xs, 2, 4, batch_size=8, threads=1)
    for threads in (1, 2):  # two: each copy of the model must decode with its own decoder
        got = predict(slow, xs, 2, 4, batch_size=8, threads=threads)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-12, atol=1e-12)
