"""TimeBiLSTM: gradient-checked in both merges, and each half reads the side it should."""
import numpy as np
import pytest

from seqattn.bilstm import TimeBiLSTM
from seqattn.gradcheck import check_layer
from seqattn.layers import TimeLSTM
from test_layers import assert_checks

N, T, D, H = 3, 5, 4, 6


def _weights(rng):
    return [rng.standard_normal(s) for s in [(D, 4 * H), (H, 4 * H), (4 * H,)] * 2]


@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_bilstm_gradients_agree_with_central_differences(merge):
    rng = np.random.default_rng(0)
    layer = TimeBiLSTM(*_weights(rng), merge=merge)
    xs = rng.standard_normal((N, T, D))
    assert layer.forward(xs).shape == (N, T, 2 * H if merge == "concat" else H)
    assert layer.param_names == ["forward.Wx", "forward.Wh", "forward.b",
                                 "backward.Wx", "backward.Wh", "backward.b"]
    assert_checks(check_layer(layer, xs, input_names=["xs"]))


def test_each_half_is_an_lstm_reading_its_own_direction():
    rng = np.random.default_rng(1)
    weights = _weights(rng)
    xs = rng.standard_normal((N, T, D))
    hs = TimeBiLSTM(*weights).forward(xs)
    np.testing.assert_allclose(hs[:, :, :H], TimeLSTM(*weights[:3]).forward(xs), rtol=1e-12)
    backward = TimeLSTM(*weights[3:]).forward(xs[:, ::-1])
    np.testing.assert_allclose(hs[:, :, H:], backward[:, ::-1], rtol=1e-12)
    summed = TimeBiLSTM(*weights, merge="sum").forward(xs)
    np.testing.assert_allclose(summed, hs[:, :, :H] + hs[:, :, H:], rtol=1e-12)


def test_the_first_column_knows_the_last_character_only_through_the_backward_half():
    rng = np.random.default_rng(2)
    layer = TimeBiLSTM(*_weights(rng))
    xs = rng.standard_normal((N, T, D))
    before = layer.forward(xs)
    xs[:, -1] += 1.0  # change only the last character
    after = layer.forward(xs)
    np.testing.assert_array_equal(after[:, :-1, :H], before[:, :-1, :H])  # forward: not yet read
    assert np.abs(after[:, 0, H:] - before[:, 0, H:]).min() > 0  # backward: read it first


def test_bilstm_refuses_an_unknown_merge_and_unequal_sizes():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="merge must be one of"):
        TimeBiLSTM(*_weights(rng), merge="mean")
    w = _weights(rng)
    w[4] = rng.standard_normal((H + 1, 4 * (H + 1)))
    with pytest.raises(ValueError, match="same hidden size"):
        TimeBiLSTM(*w)
