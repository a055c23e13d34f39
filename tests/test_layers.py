"""Every layer's backward pass agrees with central differences, and shapes are as documented."""
import numpy as np
import pytest

from seqattn.functions import sigmoid_inplace, softmax
from seqattn.gradcheck import GradCheck, check_layer, numerical_gradient
from seqattn.layers import (LSTM, Affine, Embedding, Softmax, SoftmaxWithLoss, TimeAffine,
                            TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss)

TOL = 1e-6
N, T, D, H, V = 3, 5, 4, 6, 7


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def randn(rng, *shape):
    return rng.standard_normal(shape)


def assert_checks(result):
    assert isinstance(result, GradCheck)
    assert result.rows, "nothing was checked"
    assert result.max_relative_error < TOL, f"\n{result}"
    # a zero numerical gradient means the loss ignores that array: agreement proves nothing
    assert not result.unused, f"the loss does not depend on {result.unused}"


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 0.5])
    grad = numerical_gradient(lambda: float((x ** 3).sum()), x)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])  # restored


def test_check_detects_a_wrong_backward(rng):
    class WrongAffine(Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads[0][...] *= 1.01
            return dx

    layer = WrongAffine(randn(rng, D, H), randn(rng, H))
    assert check_layer(layer, randn(rng, N, D)).max_relative_error > 1e-3


def test_check_names_the_arrays_the_loss_ignores(rng):
    class BiaslessAffine(Affine):  # ignores b forward, and returns a zero gradient for it
        def forward(self, x):
            self.x = x
            return x @ self.params[0]

        def backward(self, dout):
            dx = super().backward(dout)
            self.grads[1][...] = 0
            return dx

    result = check_layer(BiaslessAffine(randn(rng, D, H), randn(rng, H)), randn(rng, N, D))
    assert result.max_relative_error < TOL  # zeros agree with zeros...
    assert result.unused == ["b"]  # ...which the check reports
    assert check_layer(Affine(randn(rng, D, H), randn(rng, H)), randn(rng, N, D)).unused == []


def test_table_names_every_row(rng):
    result = check_layer(Affine(randn(rng, D, H), randn(rng, H)), randn(rng, N, D),
                         input_names=["x"])
    text = str(result)
    assert text.splitlines()[0].split() == ["parameter", "shape", "max", "abs", "diff",
                                            "relative", "error"]
    assert [line.split()[0] for line in text.splitlines()[1:]] == ["W", "b", "x"]


def test_float32_is_refused(rng):
    layer = Affine(randn(rng, D, H).astype(np.float32), np.zeros(H, np.float32))
    with pytest.raises(ValueError, match="float64"):
        check_layer(layer, randn(rng, N, D).astype(np.float32))


def test_functions():
    x = np.array([[-1000.0, 0.0, 1000.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(softmax(x).sum(axis=1), 1)
    x = np.array([0.0, 3.0, -2.0])
    assert sigmoid_inplace(x) is x
    np.testing.assert_allclose(x, 1 / (1 + np.exp(-np.array([0.0, 3.0, -2.0]))))
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(sigmoid_inplace(np.array([-1e4, 1e4], dtype=np.float32)),
                                      [0, 1])


def test_embedding(rng):
    W = randn(rng, V, D)
    layer = Embedding(W)
    idx = np.array([1, 3, 1])  # a repeated id must collect both gradients
    out = layer.forward(idx)
    assert out.shape == (3, D)
    # row k of the output is row idx[k] of W: a one-hot vector times W, written out
    one_hot = np.eye(V)[idx]
    np.testing.assert_allclose(out, [sum(one_hot[k, v] * W[v] for v in range(V)) for k in range(3)])
    assert_checks(check_layer(layer, idx))


def test_affine(rng):
    W, b, x = randn(rng, D, H), randn(rng, H), randn(rng, N, D)
    layer = Affine(W, b)
    out = layer.forward(x)
    assert out.shape == (N, H)
    # y[n, h] = sum_d x[n, d] W[d, h] + b[h], one element at a time
    expected = [[sum(x[n, d] * W[d, h] for d in range(D)) + b[h] for h in range(H)]
                for n in range(N)]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert_checks(check_layer(layer, randn(rng, N, D)))


def test_softmax(rng):
    assert_checks(check_layer(Softmax(), randn(rng, N, V)))


def test_softmax_with_loss(rng):
    layer = SoftmaxWithLoss()
    x, t = randn(rng, N, V), rng.integers(0, V, N)
    expected = -np.log(softmax(x)[np.arange(N), t]).mean()
    assert layer.forward(x, t) == pytest.approx(expected)
    assert_checks(check_layer(layer, x, t))


def test_lstm_step(rng):
    layer = LSTM(randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H))
    x, h, c = randn(rng, N, D), randn(rng, N, H), randn(rng, N, H)
    h_next, c_next = layer.forward(x, h, c)
    assert h_next.shape == c_next.shape == (N, H)
    assert_checks(check_layer(layer, x, h, c, input_names=["x", "h_prev", "c_prev"]))


def test_time_embedding(rng):
    W = randn(rng, V, D)
    layer = TimeEmbedding(W)
    xs = rng.integers(0, V, (N, T))
    out = layer.forward(xs)
    assert out.shape == (N, T, D)
    for n in range(N):  # step t of sample n is row xs[n, t] of W
        for t in range(T):
            np.testing.assert_array_equal(out[n, t], W[xs[n, t]])
    assert_checks(check_layer(layer, xs))


def test_time_affine(rng):
    W, b, xs = randn(rng, D, H), randn(rng, H), randn(rng, N, T, D)
    layer = TimeAffine(W, b)
    out = layer.forward(xs)
    assert out.shape == (N, T, H)
    # every step on its own: y[n, t, h] = sum_d xs[n, t, d] W[d, h] + b[h]
    expected = np.einsum("ntd,dh->nth", xs, W, optimize=False) + b[None, None, :]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert_checks(check_layer(layer, randn(rng, N, T, D)))


def test_time_lstm(rng):
    layer = TimeLSTM(randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H))
    xs = randn(rng, N, T, D)
    assert layer.forward(xs).shape == (N, T, H)
    assert_checks(check_layer(layer, xs, input_names=["xs"]))


class StatefulStart:
    """TimeLSTM started from a given (h0, c0): checks the gradient of the initial state too."""

    param_names = TimeLSTM.param_names

    def __init__(self, lstm):
        self.lstm, self.params, self.grads = lstm, lstm.params, lstm.grads

    def forward(self, xs, h0):
        self.lstm.set_state(h0)
        return self.lstm.forward(xs)

    def backward(self, dhs):
        return self.lstm.backward(dhs), self.lstm.dh


def test_time_lstm_initial_state(rng):
    lstm = TimeLSTM(randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H), stateful=True)
    assert_checks(check_layer(StatefulStart(lstm), randn(rng, N, T, D), randn(rng, N, H),
                              input_names=["xs", "h0"]))


def test_time_lstm_equals_lstm_steps(rng):
    """The fast TimeLSTM computes what T calls of the one-step LSTM compute, both ways."""
    Wx, Wh, b = randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H)
    xs, dhs, h0 = randn(rng, N, T, D), randn(rng, N, T, H), randn(rng, N, H)
    time_lstm = TimeLSTM(Wx, Wh, b, stateful=True)
    time_lstm.set_state(h0)
    hs = time_lstm.forward(xs)
    dxs = time_lstm.backward(dhs)

    steps = [LSTM(Wx, Wh, b) for _ in range(T)]
    h, c = h0, np.zeros((N, H))
    for t, step in enumerate(steps):
        h, c = step.forward(xs[:, t], h, c)
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-12, atol=1e-12)
    dh, dc = np.zeros((N, H)), np.zeros((N, H))
    grads = [np.zeros_like(p) for p in (Wx, Wh, b)]
    for t in reversed(range(T)):
        dx, dh, dc = steps[t].backward(dhs[:, t] + dh, dc)
        np.testing.assert_allclose(dxs[:, t], dx, rtol=1e-10, atol=1e-12)
        for total, g in zip(grads, steps[t].grads):
            total += g
    for total, g in zip(grads, time_lstm.grads):
        np.testing.assert_allclose(g, total, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(time_lstm.dh, dh, rtol=1e-10, atol=1e-12)


def test_time_lstm_stateful_carries_state(rng):
    params = randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H)
    xs = randn(rng, N, 2 * T, D)
    whole = TimeLSTM(*params).forward(xs)
    stateful = TimeLSTM(*params, stateful=True)
    halves = np.concatenate([stateful.forward(xs[:, :T]), stateful.forward(xs[:, T:])], axis=1)
    np.testing.assert_allclose(halves, whole, rtol=1e-12)
    stateful.reset_state()
    np.testing.assert_allclose(stateful.forward(xs[:, :T]), whole[:, :T], rtol=1e-12)
    stateless = TimeLSTM(*params)
    stateless.forward(xs[:, :T])
    np.testing.assert_allclose(stateless.forward(xs[:, :T]), whole[:, :T], rtol=1e-12)


def test_time_lstm_keeps_float32(rng):
    layer = TimeLSTM(*(randn(rng, *s).astype(np.float32) for s in [(D, 4 * H), (H, 4 * H), (4 * H,)]))
    hs = layer.forward(randn(rng, N, T, D).astype(np.float32))
    assert hs.dtype == np.float32
    assert layer.backward(hs).dtype == np.float32


def test_time_softmax_with_loss(rng):
    layer = TimeSoftmaxWithLoss()
    xs, ts = randn(rng, N, T, V), rng.integers(0, V, (N, T))
    expected = -np.log(softmax(xs)[np.arange(N)[:, None], np.arange(T), ts]).mean()
    assert layer.forward(xs, ts) == pytest.approx(expected)
    assert_checks(check_layer(layer, xs, ts))


def test_time_softmax_with_loss_ignores_padding(rng):
    layer = TimeSoftmaxWithLoss()
    xs, ts = randn(rng, N, T, V), rng.integers(0, V, (N, T))
    ts[:, -2:] = -1
    expected = TimeSoftmaxWithLoss().forward(xs[:, :-2], ts[:, :-2])
    assert layer.forward(xs, ts) == pytest.approx(expected)
    assert_checks(check_layer(layer, xs, ts))
    assert np.all(layer.backward()[:, -2:] == 0)
