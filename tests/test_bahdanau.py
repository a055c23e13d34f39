"""BahdanauDecoder: gradient-checked inside AttentionVariant(placement="bahdanau"), the previous
state queries (checked against a decoder written out by hand), and generation step by step
equal to a teacher-forced pass over the ids it generated."""
import numpy as np
import pytest

from seqattn.attention_variants import AttentionVariant, EncoderOutput, padding_mask
from seqattn.bahdanau import BahdanauDecoder
from seqattn.functions import sigmoid_inplace, softmax
from seqattn.gradcheck import check_model, randomize_params
from test_layers import assert_checks

V, D, H = 7, 3, 4
PAD = 0
XS = np.array([[0, 0, 3, 4, 5],  # padding in front (a reversed question)
               [2, 0, 3, 1, 0],  # a space inside is a character, the one at the end padding
               [6, 5, 4, 3, 2]])  # no padding
TS = np.array([[1, 2, 3, 4, 5],
               [1, 6, 6, 2, 3],
               [1, 4, 5, 6, 2]])
START = 1


def _model(score, masked, seed=0, scale=0.5):
    model = AttentionVariant(V, D, H, placement="bahdanau", score=score, mask=masked,
                             pad_id=PAD if masked else None, seed=seed, dtype=np.float64)
    return randomize_params(model, scale=scale, seed=seed)


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("score", ["dot", "scaled", "additive"])
def test_bahdanau_gradients_agree_with_central_differences(score, masked):
    model = _model(score, masked, scale=1.0)  # weights of order 1: gradients well above noise
    assert isinstance(model.decoder, BahdanauDecoder)
    assert_checks(check_model(model, XS, TS))


def test_bahdanau_parameters():
    model = _model("additive", False)
    shapes = dict(zip(model.param_names, [p.shape for p in model.params]))
    assert {k: v for k, v in shapes.items() if k.startswith("decoder.")} == {
        "decoder.embed.W": (V, D),
        "decoder.lstm.Wx": (D + H, 4 * H),  # reads [x_t, c_t]
        "decoder.lstm.Wh": (H, 4 * H),
        "decoder.lstm.b": (4 * H,),
        "decoder.attention.Wk": (H, H),
        "decoder.attention.Wq": (H, H),
        "decoder.attention.v": (H,),
        "decoder.affine.W": (2 * H, V),  # reads [c_t, h_t]
        "decoder.affine.b": (V,),
    }


def _by_hand(model, xs, dec_in):
    """The Bahdanau decoder written out step by step: c_t = attend(hs, h_{t-1}),
    h_t = LSTM([x_t, c_t], h_{t-1}), y_t = Affine([c_t, h_t]). Returns scores, weights, the
    queries h_{t-1} of every step."""
    p = dict(zip(model.param_names, model.params))
    enc = model.encoder.forward(xs)
    hs = enc.hs
    mask = padding_mask(xs, PAD) if model.config["mask"] else np.ones(xs.shape, dtype=bool)
    kind = model.config["score"]
    h, c = enc.states[0], np.zeros_like(enc.states[0])
    scores, weights, queries = [], [], []
    for t in range(dec_in.shape[1]):
        queries.append(h)
        if kind == "additive":
            Wk, Wq, v = (p[f"decoder.attention.{k}"] for k in ("Wk", "Wq", "v"))
            s = np.tanh(hs @ Wk + (h @ Wq)[:, None, :]) @ v
        else:
            s = np.einsum("nth,nh->nt", hs, h) / (np.sqrt(H) if kind == "scaled" else 1)
        a = softmax(np.where(mask, s, -np.inf))
        context = np.einsum("nt,nth->nh", a, hs)
        x = np.concatenate((p["decoder.embed.W"][dec_in[:, t]], context), axis=1)
        gates = x @ p["decoder.lstm.Wx"] + h @ p["decoder.lstm.Wh"] + p["decoder.lstm.b"]
        f, i, o = (sigmoid_inplace(gates[:, k * H:(k + 1) * H].copy()) for k in (0, 2, 3))
        g = np.tanh(gates[:, H:2 * H])
        c = f * c + g * i
        h = o * np.tanh(c)
        scores.append(np.concatenate((context, h), axis=1) @ p["decoder.affine.W"]
                      + p["decoder.affine.b"])
        weights.append(a)
    return np.stack(scores, axis=1), np.stack(weights, axis=1), np.stack(queries, axis=1)


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("score", ["dot", "scaled", "additive"])
def test_the_previous_state_queries(score, masked):
    model = _model(score, masked, seed=1)
    dec_in = TS[:, :-1]
    scores = model.decoder.forward(dec_in, model.encoder.forward(XS))
    expected_scores, expected_weights, queries = _by_hand(model, XS, dec_in)
    np.testing.assert_allclose(model.decoder.attention_weights, expected_weights, rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-12, atol=1e-12)
    # the cell of step t started from the state that queried at step t
    for t, cell in enumerate(model.decoder.cells):
        np.testing.assert_allclose(cell.cache[1], queries[:, t], rtol=1e-12, atol=1e-14)
    if masked:
        assert (model.decoder.attention_weights.transpose(0, 2, 1)[~padding_mask(XS, PAD)]
                == 0.0).all()


@pytest.mark.parametrize("score", ["dot", "scaled", "additive"])
def test_the_first_weights_depend_only_on_the_encoder(score):
    """Step 0's query is the encoder's last state: the first input character cannot change
    where step 0 looks (in Luong's placement it would), only where the later steps look."""
    model = _model(score, False, seed=2)
    enc = model.encoder.forward(XS)
    model.decoder.forward(TS[:, :-1], enc)
    before = model.decoder.attention_weights.copy()
    other = TS[:, :-1].copy()
    other[:, 0] = (other[:, 0] + 3) % V
    model.decoder.forward(other, enc)
    after = model.decoder.attention_weights
    np.testing.assert_array_equal(after[:, 0], before[:, 0])
    assert (np.abs(after[:, 1] - before[:, 1]).max(axis=1) > 1e-6).all()
    # ... and they are the score of the encoder's states against its last state
    p = dict(zip(model.param_names, model.params))
    h0 = enc.states[0]
    np.testing.assert_array_equal(h0, enc.hs[:, -1])  # one-layer LSTM encoder
    if score == "additive":
        s = np.tanh(enc.hs @ p["decoder.attention.Wk"]
                    + (h0 @ p["decoder.attention.Wq"])[:, None]) @ p["decoder.attention.v"]
    else:
        s = np.einsum("nth,nh->nt", enc.hs, h0) / (np.sqrt(H) if score == "scaled" else 1)
    np.testing.assert_allclose(before[:, 0], softmax(s), rtol=1e-12, atol=1e-14)


def test_the_initial_state_gets_the_gradient_of_the_first_query():
    """The decoder's backward returns dh0, which includes what step 0's query sent back."""
    model = _model("dot", False, seed=3)
    enc = model.encoder.forward(XS)
    rng = np.random.default_rng(3)
    dscore = rng.standard_normal((XS.shape[0], TS.shape[1] - 1, V))
    model.decoder.forward(TS[:, :-1], enc)
    dhs, dstates = model.decoder.backward(dscore)
    assert dhs.shape == enc.hs.shape and len(dstates) == 1 and dstates[0].shape == (3, H)

    def loss(h0):
        out = model.decoder.forward(TS[:, :-1], EncoderOutput(enc.hs, [h0], enc.mask))
        return float((out * dscore).sum())

    h0 = enc.states[0].copy()
    eps = 1e-6
    numeric = np.zeros_like(h0)
    for idx in np.ndindex(h0.shape):
        up, down = h0.copy(), h0.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (loss(up) - loss(down)) / (2 * eps)
    np.testing.assert_allclose(dstates[0], numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("score", ["dot", "scaled", "additive"])
def test_generation_equals_a_teacher_forced_pass(score, masked):
    model = _model(score, masked, seed=4, scale=1.0)
    n = 6
    ids, weights = model.generate(XS, START, n)
    assert ids.shape == (3, n) and weights.shape == (3, n, XS.shape[1])
    assert len(np.unique(ids)) > 1  # the check below means something
    dec_in = np.concatenate((np.full((3, 1), START), ids[:, :-1]), axis=1)
    scores = model.decoder.forward(dec_in, model.encoder.forward(XS))
    np.testing.assert_array_equal(scores.argmax(axis=2), ids)
    np.testing.assert_allclose(model.decoder.attention_weights, weights, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, rtol=1e-12)
    if masked:
        assert (weights.transpose(0, 2, 1)[~padding_mask(XS, PAD)] == 0.0).all()
    # decoding keeps no caches: every step cleared the previous one's
    assert len(model.decoder.attention.steps) == n  # the teacher-forced pass's, not more
