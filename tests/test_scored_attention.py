"""ScoredAttention: gradient-checked with every score, with and without a mask; chapter 8's
attention when the score is the dot product; padding gets exactly nothing, forward and back."""
import numpy as np
import pytest

from seqattn.attention import BatchedTimeAttention
from seqattn.functions import softmax
from seqattn.gradcheck import check_layer
from seqattn.layers import Softmax
from seqattn.scored_attention import ScoredAttention, check_mask, masked_softmax, softmax_backward
from seqattn.scores import AdditiveScore, DotScore, ScaledDotScore
from test_layers import assert_checks

N, T, T_DEC, H, HQ, A = 3, 6, 4, 5, 3, 4
MASK = np.array([[True] * T,
                 [False, False, True, True, True, False],  # padding at both ends
                 [False, False, False, False, True, True]])  # padding in front


def _score(kind, rng, Hq=H):
    if kind == "dot":
        return DotScore()
    if kind == "scaled":
        return ScaledDotScore()
    return AdditiveScore(rng.standard_normal((H, A)), rng.standard_normal((Hq, A)),
                         rng.standard_normal(A))


class AttentionLayer:
    """ScoredAttention as one layer for check_layer: forward(hs, qs) -> contexts, backward(dc)
    -> (dhs, dqs). The queries go in ``steps`` pieces, so that the per-step bookkeeping
    (several forwards, backwards last first, one finish) is what is checked."""

    def __init__(self, score, mask=None, steps=1):
        self.attention = ScoredAttention(score)
        self.params, self.grads = self.attention.params, self.attention.grads
        self.param_names = self.attention.param_names
        self.mask, self.steps = mask, steps
        self.sizes = None

    def forward(self, hs, qs):
        self.attention.start(hs, self.mask)
        pieces = np.array_split(qs, self.steps, axis=1)
        self.sizes = [p.shape[1] for p in pieces]
        return np.concatenate([self.attention.forward(p) for p in pieces], axis=1)

    def backward(self, dc):
        bounds = np.cumsum([0] + self.sizes)
        dqs = [self.attention.backward(dc[:, bounds[k]:bounds[k + 1]])
               for k in reversed(range(len(self.sizes)))][::-1]
        return self.attention.finish_backward(), np.concatenate(dqs, axis=1)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("kind", ["dot", "scaled", "additive"])
def test_scored_attention_gradients_agree_with_central_differences(kind, steps, masked):
    rng = np.random.default_rng(0)
    layer = AttentionLayer(_score(kind, rng), MASK if masked else None, steps)
    hs, qs = rng.standard_normal((N, T, H)), rng.standard_normal((N, T_DEC, H))
    assert layer.forward(hs, qs).shape == (N, T_DEC, H)
    assert layer.param_names == ([] if kind != "additive" else ["Wk", "Wq", "v"])
    assert_checks(check_layer(layer, hs, qs, input_names=["hs", "qs"]))


@pytest.mark.parametrize("masked", [False, True])
def test_additive_attention_with_narrower_queries(masked):
    rng = np.random.default_rng(1)
    layer = AttentionLayer(_score("additive", rng, Hq=HQ), MASK if masked else None, steps=2)
    hs, qs = rng.standard_normal((N, T, H)), rng.standard_normal((N, T_DEC, HQ))
    assert_checks(check_layer(layer, hs, qs, input_names=["hs", "qs"]))


def test_dot_attention_without_mask_is_chapter_8s_attention():
    rng = np.random.default_rng(2)
    hs, qs = rng.standard_normal((N, T, H)), rng.standard_normal((N, T_DEC, H))
    dc = rng.standard_normal((N, T_DEC, H))
    book = BatchedTimeAttention()
    ours = ScoredAttention(DotScore())
    ours.start(hs)
    np.testing.assert_allclose(ours.forward(qs), book.forward(hs, qs), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.attention_weights, book.attention_weights,
                               rtol=1e-12, atol=1e-12)
    dhs_book, dqs_book = book.backward(dc)
    dqs = ours.backward(dc)
    dhs = ours.finish_backward()
    np.testing.assert_allclose(dqs, dqs_book, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dhs, dhs_book, rtol=1e-12, atol=1e-12)


def test_masked_softmax_without_mask_is_the_softmax():
    rng = np.random.default_rng(3)
    s = rng.standard_normal((N, T_DEC, T))
    np.testing.assert_array_equal(masked_softmax(s, None), softmax(s))


def test_masked_softmax_is_the_softmax_of_the_unmasked_scores():
    rng = np.random.default_rng(4)
    s = 3 * rng.standard_normal((N, T_DEC, T))
    a = masked_softmax(s, MASK)
    for n in range(N):
        assert (a[n][:, ~MASK[n]] == 0.0).all()
        np.testing.assert_allclose(a[n][:, MASK[n]], softmax(s[n][:, MASK[n]]), rtol=1e-14)


def test_softmax_backward_is_the_softmax_layers():
    rng = np.random.default_rng(5)
    s, da = rng.standard_normal((N, T_DEC, T)), rng.standard_normal((N, T_DEC, T))
    layer = Softmax()
    a = layer.forward(s)
    np.testing.assert_allclose(softmax_backward(a, da), layer.backward(da), rtol=1e-14,
                               atol=1e-15)


@pytest.mark.parametrize("kind", ["dot", "scaled", "additive"])
def test_padding_gets_exactly_nothing(kind):
    rng = np.random.default_rng(6)
    attention = ScoredAttention(_score(kind, rng))
    hs, qs = 2 * rng.standard_normal((N, T, H)), 2 * rng.standard_normal((N, T_DEC, H))
    attention.start(hs, MASK)
    contexts = attention.forward(qs)
    a = attention.attention_weights
    assert a.shape == (N, T_DEC, T)
    assert (a.transpose(0, 2, 1)[~MASK] == 0.0).all()  # exactly 0, not approximately
    assert (a.transpose(0, 2, 1)[MASK] > 0).all()
    np.testing.assert_allclose(a.sum(axis=2), 1.0, rtol=1e-14)
    np.testing.assert_allclose(contexts, a @ hs, rtol=1e-14)

    dc = rng.standard_normal(contexts.shape)
    dqs = attention.backward(dc)
    dhs = attention.finish_backward()
    # hs enters only through the attention: the padding's states receive exactly no gradient,
    # neither from the weighted sum nor from the score
    assert (dhs[~MASK] == 0.0).all()
    assert (np.abs(dhs[MASK]).sum(axis=1) > 0).all()
    grads = [g.copy() for g in attention.grads]

    # what the padding's states hold changes nothing: contexts, weights, dqs, grads
    changed = hs.copy()
    changed[~MASK] = 100 * rng.standard_normal(changed[~MASK].shape)
    attention.start(changed, MASK)
    np.testing.assert_array_equal(attention.forward(qs), contexts)
    np.testing.assert_array_equal(attention.attention_weights, a)
    np.testing.assert_array_equal(attention.backward(dc), dqs)
    dhs_changed = attention.finish_backward()
    np.testing.assert_array_equal(dhs_changed[MASK], dhs[MASK])
    assert (dhs_changed[~MASK] == 0.0).all()
    for g_changed, g in zip(attention.grads, grads):
        np.testing.assert_array_equal(g_changed, g)


def test_a_mask_of_all_true_changes_nothing():
    rng = np.random.default_rng(7)
    hs, qs = rng.standard_normal((N, T, H)), rng.standard_normal((N, T_DEC, H))
    plain, masked = ScoredAttention(DotScore()), ScoredAttention(DotScore())
    plain.start(hs)
    masked.start(hs, np.ones((N, T), dtype=bool))
    np.testing.assert_array_equal(masked.forward(qs), plain.forward(qs))
    dc = rng.standard_normal((N, T_DEC, H))
    np.testing.assert_array_equal(masked.backward(dc), plain.backward(dc))
    np.testing.assert_array_equal(masked.finish_backward(), plain.finish_backward())


def test_clear_forgets_the_steps_taken():
    rng = np.random.default_rng(8)
    attention = ScoredAttention(_score("additive", rng))
    attention.start(rng.standard_normal((N, T, H)))
    for _ in range(3):
        attention.forward(rng.standard_normal((N, 1, H)))
    attention.clear()
    assert attention.steps == [] and attention.score.steps == []


def test_check_mask_accepts_none_and_good_masks():
    assert check_mask(None, N, T) is None
    np.testing.assert_array_equal(check_mask(MASK, N, T), MASK)
    np.testing.assert_array_equal(check_mask(MASK.tolist(), N, T), MASK)


@pytest.mark.parametrize("mask,words", [
    (MASK.astype(int), ["boolean", "int"]),
    (MASK.astype(float), ["boolean", "float"]),
    (MASK[:, :-1], ["boolean", f"{(N, T)}", f"{(N, T - 1)}"]),
    (MASK[:-1], ["boolean", f"{(N, T)}", f"{(N - 1, T)}"]),
    (MASK.T, ["shape", f"{(T, N)}"]),
    (MASK[0], ["shape", f"{(T,)}"]),
])
def test_check_mask_refuses_wrong_dtypes_and_shapes(mask, words):
    with pytest.raises(ValueError) as info:
        check_mask(mask, N, T)
    for word in words:
        assert word in str(info.value)


def test_check_mask_refuses_a_row_without_characters():
    mask = MASK.copy()
    mask[1] = False
    with pytest.raises(ValueError, match=r"rows \[1\] of the mask are all False"):
        check_mask(mask, N, T)
    attention = ScoredAttention(DotScore())  # the layer checks its mask
    with pytest.raises(ValueError, match="all False"):
        attention.start(np.zeros((N, T, H)), mask)
    with pytest.raises(ValueError, match="boolean"):
        attention.start(np.zeros((N, T, H)), MASK[:, 1:])
