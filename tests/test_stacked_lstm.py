"""TimeStackedLSTM: gradient-checked in every configuration (depth, skip, stateful, the
gradients of every layer's last state), and equal to the TimeLSTMs it stacks."""
import numpy as np
import pytest

from seqattn.gradcheck import check_layer
from seqattn.layers import TimeLSTM
from seqattn.stacked_lstm import TimeStackedLSTM
from test_layers import assert_checks

N, T, D, H = 2, 3, 2, 3


def _weights(rng, layers, D=D):
    return [[rng.standard_normal((D if k == 0 else H, 4 * H)), rng.standard_normal((H, 4 * H)),
             rng.standard_normal(4 * H)] for k in range(layers)]


def _stack(weights, skip=False, stateful=False):
    return TimeStackedLSTM([TimeLSTM(*w, stateful=stateful) for w in weights], skip=skip)


class StackLoss:
    """The stack as one layer for check_layer.

    forward(xs[, h0_1, ..., h0_L]) -> (hs[, last_1, ..., last_L]): with ``last``, every layer's
    last state is an output too, so that check_layer weights it and ``backward`` receives its
    gradient as ``dlast``; stateful stacks start from the h0 given, and ``backward`` returns
    their gradients ``dh`` after dxs.
    """

    def __init__(self, stack, last):
        self.stack, self.last = stack, last
        self.params, self.grads, self.param_names = stack.params, stack.grads, stack.param_names

    def forward(self, xs, *h0):
        if self.stack.stateful:
            self.stack.set_state(list(h0))
        hs = self.stack.forward(xs)
        return (hs, *self.stack.states()) if self.last else hs

    def backward(self, dhs, *dlast):
        dxs = self.stack.backward(dhs, dlast=list(dlast) if self.last else None)
        return (dxs, *self.stack.dh) if self.stack.stateful else dxs


CONFIGS = [(layers, skip) for layers in (1, 2, 3) for skip in (False, True)
           if not (skip and layers == 1)]


@pytest.mark.parametrize("last", [False, True], ids=["no-dlast", "dlast"])
@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "stateful"])
@pytest.mark.parametrize("layers,skip", CONFIGS)
def test_stack_gradients_agree_with_central_differences(layers, skip, stateful, last):
    rng = np.random.default_rng(layers)
    stack = _stack(_weights(rng, layers), skip, stateful)
    assert stack.param_names == [f"layer{k}.{name}" for k in range(1, layers + 1)
                                 for name in ("Wx", "Wh", "b")]
    xs = rng.standard_normal((N, T, D))
    h0 = [rng.standard_normal((N, H)) for _ in range(layers)] if stateful else []
    names = ["xs"] + [f"h0 layer{k}" for k in range(1, len(h0) + 1)]
    result = check_layer(StackLoss(stack, last), xs, *h0, input_names=names)
    assert [row[0] for row in result.rows][-len(names):] == names
    assert_checks(result)
    if stateful:
        assert len(stack.dh) == layers and all(d.shape == (N, H) for d in stack.dh)
    else:
        assert stack.dh is None


def test_dlast_adds_the_gradient_of_each_layers_last_state():
    """backward(dhs, dlast) is backward(dhs) plus what dlast alone contributes, per layer."""
    rng = np.random.default_rng(4)
    weights = _weights(rng, 3)
    xs = rng.standard_normal((N, T, D))
    dhs = rng.standard_normal((N, T, H))
    dlast = [rng.standard_normal((N, H)) for _ in range(3)]
    stack = _stack(weights, skip=True)
    stack.forward(xs)
    both = stack.backward(dhs, dlast)
    without = stack.backward(dhs)
    only = stack.backward(np.zeros_like(dhs), dlast)
    np.testing.assert_allclose(both, without + only, rtol=1e-10, atol=1e-12)
    assert np.abs(only).max() > 1e-3
    # without skip, the top layer's last state is the output's last step: dlast[-1] acts
    # as a gradient of hs[:, -1]
    plain = _stack(weights)
    plain.forward(xs)
    moved = dhs.copy()
    moved[:, -1] += dlast[-1]
    zeros = [np.zeros((N, H)) for _ in range(2)]
    np.testing.assert_allclose(plain.backward(dhs, zeros + dlast[2:]), plain.backward(moved),
                               rtol=1e-12, atol=1e-14)


def test_states_are_every_layers_last_hidden_state():
    rng = np.random.default_rng(5)
    weights = _weights(rng, 2)
    xs = rng.standard_normal((N, T, D))
    stack = _stack(weights, skip=True)
    stack.forward(xs)
    out1 = TimeLSTM(*weights[0]).forward(xs)
    out2 = TimeLSTM(*weights[1]).forward(out1)
    states = stack.states()
    assert len(states) == 2
    np.testing.assert_array_equal(states[0], out1[:, -1])
    np.testing.assert_array_equal(states[1], out2[:, -1])  # the LSTM's own, without the skip


def test_one_layer_is_a_time_lstm():
    rng = np.random.default_rng(6)
    weights = _weights(rng, 1)
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    h0 = rng.standard_normal((N, H))
    for stateful in (False, True):
        stack, lstm = _stack(weights, stateful=stateful), TimeLSTM(*weights[0], stateful=stateful)
        if stateful:
            stack.set_state([h0])
            lstm.set_state(h0)
        np.testing.assert_array_equal(stack.forward(xs), lstm.forward(xs))
        np.testing.assert_array_equal(stack.backward(dhs), lstm.backward(dhs))
        for g_stack, g_lstm in zip(stack.grads, lstm.grads):
            np.testing.assert_array_equal(g_stack, g_lstm)
        if stateful:
            np.testing.assert_array_equal(stack.dh[0], lstm.dh)


def test_two_layers_without_skip_are_two_lstms_composed():
    rng = np.random.default_rng(7)
    weights = _weights(rng, 2)
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    stack = _stack(weights)
    lstm1, lstm2 = TimeLSTM(*weights[0]), TimeLSTM(*weights[1])
    np.testing.assert_allclose(stack.forward(xs), lstm2.forward(lstm1.forward(xs)), rtol=1e-13)
    np.testing.assert_allclose(stack.backward(dhs), lstm1.backward(lstm2.backward(dhs)),
                               rtol=1e-12, atol=1e-14)
    for g_stack, g in zip(stack.grads, lstm1.grads + lstm2.grads):
        np.testing.assert_allclose(g_stack, g, rtol=1e-12, atol=1e-14)


def test_skip_adds_each_layers_input_to_its_output():
    rng = np.random.default_rng(8)
    weights = _weights(rng, 3)
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    stack = _stack(weights, skip=True)
    lstm1, lstm2, lstm3 = (TimeLSTM(*w) for w in weights)
    out1 = lstm1.forward(xs)  # D != H: no skip
    out2 = lstm2.forward(out1) + out1
    out3 = lstm3.forward(out2) + out2
    np.testing.assert_allclose(stack.forward(xs), out3, rtol=1e-13)
    assert stack.skipped == [False, True, True]
    # backward: the sum sends the gradient through the LSTM and straight down
    d2 = lstm3.backward(dhs) + dhs
    d1 = lstm2.backward(d2) + d2
    np.testing.assert_allclose(stack.backward(dhs), lstm1.backward(d1), rtol=1e-12, atol=1e-14)
    for g_stack, g in zip(stack.grads, lstm1.grads + lstm2.grads + lstm3.grads):
        np.testing.assert_allclose(g_stack, g, rtol=1e-12, atol=1e-14)


def test_the_first_layer_never_skips_even_when_widths_agree():
    rng = np.random.default_rng(9)
    weights = _weights(rng, 2, D=H)
    xs = rng.standard_normal((N, T, H))
    stack = _stack(weights, skip=True)
    out1 = TimeLSTM(*weights[0]).forward(xs)
    np.testing.assert_allclose(stack.forward(xs), TimeLSTM(*weights[1]).forward(out1) + out1,
                               rtol=1e-13)
    assert stack.skipped == [False, True]
    assert_checks(check_layer(StackLoss(stack, True), xs, input_names=["xs"]))


def test_the_skip_carries_the_gradient_down():
    """With the skip, the bottom layer's input gradient has a share that bypasses the layers
    above: zero the upper LSTMs' weights and it is all that remains."""
    rng = np.random.default_rng(10)
    weights = _weights(rng, 3)
    for w in weights[1:]:
        for p in w:
            p[...] = 0  # the upper LSTMs output tanh(0) * sigmoid(0) = 0 and pass no gradient
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    with_skip, without = _stack(weights, skip=True), _stack(weights, skip=False)
    with_skip.forward(xs)
    without.forward(xs)
    lstm1 = TimeLSTM(*weights[0])
    lstm1.forward(xs)
    np.testing.assert_allclose(with_skip.backward(dhs), lstm1.backward(dhs), rtol=1e-12,
                               atol=1e-14)
    assert not without.backward(dhs).any()


def test_stateful_stacks_carry_every_layers_state_over():
    rng = np.random.default_rng(11)
    weights = _weights(rng, 2)
    xs = rng.standard_normal((N, T, D))
    whole = _stack(weights, skip=True, stateful=True)
    h0 = [rng.standard_normal((N, H)) for _ in range(2)]
    whole.set_state(h0)
    expected = whole.forward(xs)
    pieces = _stack(weights, skip=True, stateful=True)
    pieces.set_state(h0)
    got = np.concatenate([pieces.forward(xs[:, :1]), pieces.forward(xs[:, 1:])], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    for a, b in zip(pieces.states(), whole.states()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_stack_refuses_no_layers_and_a_wrong_number_of_states():
    with pytest.raises(ValueError, match="at least one LSTM"):
        TimeStackedLSTM([])
    stack = _stack(_weights(np.random.default_rng(12), 2), stateful=True)
    with pytest.raises(ValueError, match="2 layers need 2 states, not 1"):
        stack.set_state([np.zeros((N, H))])
