"""The book-style reference computes what the fast layers compute."""
import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.gradcheck import randomize_params
from seqattn.layers import TimeLSTM
from seqattn.peeky_seq2seq import PeekySeq2seq
from seqattn.reference import StepwiseTimeLSTM, book_style, evaluate_one_by_one
from seqattn.seq2seq import Seq2seq
from seqattn.train import evaluate

V, D, H = 9, 4, 6


def data(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (n, 7)), rng.integers(0, V, (n, 4))


def test_stepwise_lstm_equals_time_lstm():
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s) for s in [(D, 4 * H), (H, 4 * H), (4 * H,)]]
    xs, dhs, h0 = rng.standard_normal((3, 5, D)), rng.standard_normal((3, 5, H)), rng.standard_normal((3, H))
    fast, slow = TimeLSTM(*params, stateful=True), StepwiseTimeLSTM(*params, stateful=True)
    fast.set_state(h0)
    slow.set_state(h0)
    np.testing.assert_allclose(slow.forward(xs), fast.forward(xs), rtol=1e-12)
    np.testing.assert_allclose(slow.backward(dhs), fast.backward(dhs), rtol=1e-10)
    for g_slow, g_fast in zip(slow.grads, fast.grads):
        np.testing.assert_allclose(g_slow, g_fast, rtol=1e-10)
    np.testing.assert_allclose(slow.dh, fast.dh, rtol=1e-10)


@pytest.mark.parametrize("model_class", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
def test_book_style_model_same_loss_grads_and_answers(model_class):
    fast = randomize_params(model_class(V, D, H, seed=1, dtype=np.float64))
    slow = randomize_params(model_class(V, D, H, seed=1, dtype=np.float64))
    book_style(slow)
    xs, ts = data()
    assert slow.forward(xs, ts) == pytest.approx(fast.forward(xs, ts), rel=1e-12)
    fast.backward()
    slow.backward()
    for name, g_slow, g_fast in zip(fast.param_names, slow.grads, fast.grads):
        np.testing.assert_allclose(g_slow, g_fast, rtol=1e-9, atol=1e-12, err_msg=name)
    out_fast, out_slow = fast.generate(xs, 0, 3), slow.generate(xs, 0, 3)
    if isinstance(out_fast, tuple):
        np.testing.assert_allclose(out_slow[1], out_fast[1], rtol=1e-10)
        out_fast, out_slow = out_fast[0], out_slow[0]
    np.testing.assert_array_equal(out_slow, out_fast)
    assert evaluate_one_by_one(slow, xs, ts) == evaluate(fast, xs, ts)


def test_book_style_keeps_the_parameter_arrays():
    model = AttentionSeq2seq(V, D, H)
    old = [model.encoder.lstm, model.decoder.lstm]
    book_style(model)
    for before, after in zip(old, [model.encoder.lstm, model.decoder.lstm]):
        assert isinstance(after, StepwiseTimeLSTM)
        assert all(a is b for a, b in zip(before.params + before.grads, after.params + after.grads))
