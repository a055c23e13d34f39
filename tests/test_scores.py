"""The attention scores: gradient-checked, the step protocol equal to one batched pass, the
scaled score a scaled dot score, the additive score as its formula says."""
import numpy as np
import pytest

from seqattn.gradcheck import check_layer
from seqattn.scores import SCORES, AdditiveScore, DotScore, ScaledDotScore
from test_layers import assert_checks

N, T, T_DEC, H, HQ, A = 2, 5, 4, 6, 3, 4


def _additive(rng, H=H, Hq=H, A=A):
    return AdditiveScore(rng.standard_normal((H, A)), rng.standard_normal((Hq, A)),
                         rng.standard_normal(A))


def _score(kind, rng, Hq=H):
    if kind == "dot":
        return DotScore()
    if kind == "scaled":
        return ScaledDotScore()
    return _additive(rng, Hq=Hq)


def _inputs(rng, Hq=H, T_dec=T_DEC):
    return rng.standard_normal((N, T, H)), rng.standard_normal((N, T_dec, Hq))


def test_the_module_lists_its_scores():
    assert SCORES == ("dot", "scaled", "additive")


@pytest.mark.parametrize("kind", ["dot", "scaled", "additive"])
def test_score_gradients_agree_with_central_differences(kind):
    rng = np.random.default_rng(0)
    score = _score(kind, rng)
    hs, qs = _inputs(rng)
    assert score.forward(hs, qs).shape == (N, T_DEC, T)
    result = check_layer(score, hs, qs, input_names=["hs", "qs"])
    assert [row[0] for row in result.rows] == list(score.param_names) + ["hs", "qs"]
    assert_checks(result)


def test_additive_score_with_keys_and_queries_of_different_widths():
    rng = np.random.default_rng(1)
    score = _additive(rng, H=H, Hq=HQ, A=A)
    hs, qs = _inputs(rng, Hq=HQ)
    s = score.forward(hs, qs)
    assert s.shape == (N, T_DEC, T)
    dhs, dqs = score.backward(rng.standard_normal(s.shape))
    assert dhs.shape == hs.shape and dqs.shape == qs.shape
    assert [g.shape for g in score.grads] == [(H, A), (HQ, A), (A,)]
    assert_checks(check_layer(_additive(np.random.default_rng(1), H=H, Hq=HQ, A=A), hs, qs,
                              input_names=["hs", "qs"]))


def test_dot_score_is_the_dot_product():
    rng = np.random.default_rng(2)
    hs, qs = _inputs(rng)
    s = DotScore().forward(hs, qs)
    for n in range(N):
        for t_dec in range(T_DEC):
            for t in range(T):
                assert s[n, t_dec, t] == pytest.approx(qs[n, t_dec] @ hs[n, t], rel=1e-13)


def test_additive_score_is_its_formula():
    rng = np.random.default_rng(3)
    score = _additive(rng, Hq=HQ)
    Wk, Wq, v = score.params
    hs, qs = _inputs(rng, Hq=HQ)
    s = score.forward(hs, qs)
    for n in range(N):
        for t_dec in range(T_DEC):
            for t in range(T):
                expected = v @ np.tanh(hs[n, t] @ Wk + qs[n, t_dec] @ Wq)
                assert s[n, t_dec, t] == pytest.approx(expected, rel=1e-12)


def test_scaled_score_is_the_dot_score_over_sqrt_h():
    rng = np.random.default_rng(4)
    hs, qs = _inputs(rng)
    dot, scaled = DotScore(), ScaledDotScore()
    s_dot, s_scaled = dot.forward(hs, qs), scaled.forward(hs, qs)
    np.testing.assert_allclose(s_scaled, s_dot / np.sqrt(H), rtol=1e-14, atol=1e-14)
    ds = rng.standard_normal(s_dot.shape)
    dhs_dot, dqs_dot = dot.backward(ds)
    dhs_scaled, dqs_scaled = scaled.backward(ds)
    np.testing.assert_allclose(dhs_scaled, dhs_dot / np.sqrt(H), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dqs_scaled, dqs_dot / np.sqrt(H), rtol=1e-13, atol=1e-14)
    # the scale follows the keys' width: another H, another scale
    hs8, qs8 = rng.standard_normal((N, T, 8)), rng.standard_normal((N, T_DEC, 8))
    np.testing.assert_allclose(ScaledDotScore().forward(hs8, qs8),
                               DotScore().forward(hs8, qs8) / np.sqrt(8), rtol=1e-14)


@pytest.mark.parametrize("kind,Hq", [("dot", H), ("scaled", H), ("additive", H),
                                     ("additive", HQ)])
def test_several_steps_equal_one_pass_over_all_queries(kind, Hq):
    rng = np.random.default_rng(5)
    hs = rng.standard_normal((N, T, H))
    sizes = [1, 2, 1, 3]  # T' of each step
    queries = [rng.standard_normal((N, k, Hq)) for k in sizes]
    dss = [rng.standard_normal((N, k, T)) for k in sizes]

    stepped = _score(kind, np.random.default_rng(6), Hq=Hq)
    stepped.start(hs)
    s_steps = [stepped.step(q) for q in queries]
    dqs_steps = [stepped.step_backward(ds) for ds in reversed(dss)][::-1]  # last first
    dhs_steps = stepped.finish_backward()
    grads_steps = [g.copy() for g in stepped.grads]

    whole = _score(kind, np.random.default_rng(6), Hq=Hq)  # the same parameters
    s_whole = whole.forward(hs, np.concatenate(queries, axis=1))
    dhs_whole, dqs_whole = whole.backward(np.concatenate(dss, axis=1))

    np.testing.assert_allclose(np.concatenate(s_steps, axis=1), s_whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.concatenate(dqs_steps, axis=1), dqs_whole,
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dhs_steps, dhs_whole, rtol=1e-12, atol=1e-12)
    assert len(grads_steps) == len(whole.grads) == (3 if kind == "additive" else 0)
    for g_steps, g_whole in zip(grads_steps, whole.grads):
        np.testing.assert_allclose(g_steps, g_whole, rtol=1e-12, atol=1e-12)
    assert stepped.steps == []  # every step was undone


@pytest.mark.parametrize("kind", ["dot", "scaled", "additive"])
def test_a_new_start_forgets_the_previous_batch(kind):
    """Gradients are summed over the steps of one batch, not over batches."""
    rng = np.random.default_rng(7)
    score = _score(kind, rng)
    hs, qs = _inputs(rng)
    ds = rng.standard_normal((N, T_DEC, T))
    score.forward(hs, qs)
    first = [g.copy() for g in score.backward(ds)] + [g.copy() for g in score.grads]
    score.forward(hs, qs)
    second = list(score.backward(ds)) + list(score.grads)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shapes", [
    [(H, A), (H, A + 1), (A,)],  # Wk and Wq disagree on A
    [(H, A), (H, A), (A + 1,)],  # v is not A long
    [(H, A), (H, A), (A, 1)],  # v is not a vector
])
def test_additive_score_refuses_mismatched_shapes(shapes):
    rng = np.random.default_rng(8)
    with pytest.raises(ValueError, match=r"must share A") as info:
        AdditiveScore(*[rng.standard_normal(s) for s in shapes])
    for s in shapes:
        assert str(s) in str(info.value)  # the message shows the shapes it got


def test_scores_refuse_inputs_of_the_wrong_width():
    rng = np.random.default_rng(9)
    score = _additive(rng, H=H, Hq=HQ)
    with pytest.raises(ValueError):
        score.start(rng.standard_normal((N, T, H + 1)))  # keys wider than Wk
    score.start(rng.standard_normal((N, T, H)))
    with pytest.raises(ValueError):
        score.step(rng.standard_normal((N, 1, HQ + 1)))  # queries wider than Wq
    dot = DotScore()
    dot.start(rng.standard_normal((N, T, H)))
    with pytest.raises(ValueError):
        dot.step(rng.standard_normal((N, 1, H + 1)))  # a dot product needs equal widths


def test_inputs_of_the_wrong_width_are_refused_by_name():
    additive = AdditiveScore(np.ones((6, 4)), np.ones((3, 4)), np.ones(4))
    with pytest.raises(ValueError, match=r"the keys hs must be \(N, T, 6\) to match Wk"):
        additive.start(np.ones((2, 5, 5)))
    additive.start(np.ones((2, 5, 6)))
    with pytest.raises(ValueError, match=r"the queries must be \(N, T, 3\) to match Wq"):
        additive.step(np.ones((2, 1, 6)))
    with pytest.raises(ValueError, match="must share A"):
        AdditiveScore(np.ones(6), np.ones((3, 4)), np.ones(4))
    dot = DotScore()
    dot.start(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match=r"the queries must be \(N, T, 3\) to match the keys"):
        dot.step(np.ones((2, 1, 4)))
