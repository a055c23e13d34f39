"""AttentionVariant: every variant gradient-checked; the default is chapter 8's model; the
padding mask; what the bidirectional and the deep encoders hand the decoder; invalid options;
the experiment's model names."""
import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.attention_variants import (VARIANTS, AttentionVariant, EncoderOutput, LuongDecoder,
                                        VariantEncoder, padding_mask)
from seqattn.bahdanau import BahdanauDecoder
from seqattn.data import PAD, Vocabulary
from seqattn.experiment import build_model, left_pad
from seqattn.gradcheck import check_model, numerical_gradient, randomize_params
from seqattn.layers import TimeLSTM
from seqattn.scored_attention import ScoredAttention
from seqattn.scores import AdditiveScore, DotScore, ScaledDotScore
from test_layers import assert_checks

V, D, H = 7, 3, 4
PAD_ID = 0
XS = np.array([[0, 0, 3, 4, 5],  # padding in front (a reversed question)
               [2, 0, 3, 1, 0],  # a space inside, padding at the end
               [6, 5, 4, 3, 2]])  # no padding
TS = np.array([[1, 2, 3, 4, 5],
               [1, 6, 6, 2, 3],
               [1, 4, 5, 6, 2]])
START = 1
# Gradient checks run thousands of forward passes, each costing more the more parameters
# there are: they use smaller models (D = H = 2) and batches, padding in front in the first
# question, a space inside and padding at the end in the second. Weights of order 1 give the
# additive score's Wq gradients large enough to measure (with 0.5, some are ~1e-5 and central
# differences only get 5 digits of them).
XS_CHECK = np.array([[0, 3, 4, 5], [2, 0, 3, 0]])
TS_CHECK = np.array([[1, 2, 3, 4], [1, 6, 6, 2]])


def _variant(seed=0, scale=0.5, sizes=(V, D, H), **options):
    if options.get("mask"):
        options.setdefault("pad_id", PAD_ID)
    model = AttentionVariant(*sizes, seed=seed, dtype=np.float64, **options)
    return randomize_params(model, scale=scale, seed=seed)


EXTRAS = {
    "default": dict(),
    "bahdanau_scaled_masked": dict(placement="bahdanau", score="scaled", mask=True),
    "bilstm_unmasked": dict(encoder="bilstm"),
    "bilstm_bahdanau_additive": dict(encoder="bilstm", placement="bahdanau", score="additive",
                                     mask=True),
    "deep2_skip_additive_masked": dict(layers=2, skip=True, score="additive", mask=True),
    "deep3_scaled_masked": dict(layers=3, score="scaled", mask=True),
    "deep2_scaled": dict(layers=2, score="scaled"),
}
ALL = {**VARIANTS, **EXTRAS}


@pytest.mark.parametrize("name", list(ALL))
def test_variant_gradients_agree_with_central_differences(name):
    model = _variant(scale=1.0, sizes=(V, 2, 2), **ALL[name])
    for key, value in ALL[name].items():
        assert model.config[key] == value
    assert_checks(check_model(model, XS_CHECK, TS_CHECK))


def test_the_variants_the_course_trains():
    assert {"luong_scaled", "luong_additive", "bahdanau_dot", "bahdanau_additive", "masked",
            "bilstm", "deep2", "deep2_skip"} <= set(VARIANTS)
    assert all("-" not in name for name in VARIANTS)  # run names split on "-"
    for options in VARIANTS.values():
        assert set(options) <= set(AttentionVariant.option_names) - {"pad_id"}


@pytest.mark.parametrize("name", list(ALL))
def test_the_parts_are_the_ones_asked_for(name):
    options = ALL[name]
    model = _variant(**options)
    placement = options.get("placement", "luong")
    assert isinstance(model.decoder,
                      BahdanauDecoder if placement == "bahdanau" else LuongDecoder)
    assert isinstance(model.encoder, VariantEncoder)
    attention = model.decoder.attention
    assert isinstance(attention, ScoredAttention)
    score = options.get("score", "dot")
    assert type(attention.score) is {"dot": DotScore, "scaled": ScaledDotScore,
                                     "additive": AdditiveScore}[score]
    layers = options.get("layers", 1)
    if placement == "luong":
        assert len(model.decoder.lstm.lstms) == layers
        assert model.decoder.lstm.skip == options.get("skip", False)
    if options.get("encoder", "lstm") == "lstm":
        assert len(model.encoder.lstm.lstms) == layers
    enc = model.encoder.forward(XS)
    assert enc.hs.shape == (3, XS.shape[1], H)
    assert len(enc.states) == layers
    assert (enc.mask is None) == (not options.get("mask", False))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_default_variant_is_chapter_8s_model(dtype):
    variant = AttentionVariant(V, D, H, seed=3, dtype=dtype)
    book = AttentionSeq2seq(V, D, H, seed=3, dtype=dtype)
    assert [p.shape for p in variant.params] == [p.shape for p in book.params]
    for p_variant, p_book in zip(variant.params, book.params):
        assert p_variant.dtype == p_book.dtype == dtype
        np.testing.assert_array_equal(p_variant, p_book)
    rng = np.random.default_rng(3)
    xs, ts = rng.integers(0, V, (4, 6)), rng.integers(0, V, (4, 5))
    assert variant.forward(xs, ts) == book.forward(xs, ts)
    variant.backward()
    book.backward()
    for name, g_variant, g_book in zip(book.param_names, variant.grads, book.grads):
        np.testing.assert_array_equal(g_variant, g_book, err_msg=name)
    # weights of order one, not the tiny initial ones, so that the decoding is not trivial
    for p_variant, p_book in zip(randomize_params(variant, scale=1.5, seed=1).params,
                                 randomize_params(book, scale=1.5, seed=1).params):
        np.testing.assert_array_equal(p_variant, p_book)
    ids_variant, weights_variant = variant.generate(xs, START, 6)
    ids_book, weights_book = book.generate(xs, START, 6)
    assert len(np.unique(ids_book)) > 1
    np.testing.assert_array_equal(ids_variant, ids_book)
    np.testing.assert_array_equal(weights_variant, weights_book)


# --- the padding mask -------------------------------------------------------------------

QUESTIONS = ["Aug 8, 2001", "8/8/01", "Wednesday, August 8, 2001", "a b"]
WIDTH = 29


def _vocab(reversed):
    return Vocabulary(set("".join(QUESTIONS)) | set("0123456789-"), question_width=WIDTH,
                      reversed=reversed)


def _expected(question, order):
    """True on the question's characters (its inner spaces too), False on the padding."""
    n = len(question)
    mask = np.arange(WIDTH) < n  # as written: the padding follows
    return {"as-written": mask, "reversed": mask[::-1], "left-padded": mask[::-1]}[order]


@pytest.mark.parametrize("order", ["as-written", "reversed", "left-padded"])
def test_padding_mask_masks_only_the_padding_at_either_end(order):
    vocab = _vocab(order == "reversed")
    pad_id = vocab.char_to_id[PAD]
    xs = np.stack([vocab.encode_question(q) for q in QUESTIONS])
    if order == "left-padded":
        xs = left_pad(xs, pad_id)
    mask = padding_mask(xs, pad_id)
    assert mask.dtype == bool and mask.shape == xs.shape
    for row, question in zip(mask, QUESTIONS):
        np.testing.assert_array_equal(row, _expected(question, order), err_msg=question)
    # the spaces inside a question are characters
    inner = (xs == pad_id) & mask
    assert inner.sum() == sum(q.count(" ") for q in QUESTIONS)


def test_padding_mask_in_corner_cases():
    xs = np.array([[0, 0, 1, 0, 2, 0, 0],  # runs at both ends, a pad inside
                   [1, 1, 1, 1, 1, 1, 1],  # no padding
                   [0, 0, 0, 0, 0, 0, 3],  # one character at the end
                   [4, 0, 0, 0, 0, 0, 0],  # one character at the start
                   [0, 0, 0, 0, 0, 0, 0]])  # no character at all
    np.testing.assert_array_equal(padding_mask(xs, 0), [
        [False, False, True, True, True, False, False],
        [True] * 7,
        [False] * 6 + [True],
        [True] + [False] * 6,
        [False] * 7])
    np.testing.assert_array_equal(padding_mask(xs, 9), np.ones(xs.shape, dtype=bool))


def test_a_question_of_only_padding_is_refused_not_averaged():
    """padding_mask gives an empty question an all-False row; the attention refuses it
    loudly (a softmax over nothing would be 0/0 = nan)."""
    model = _variant(mask=True)
    xs = XS.copy()
    xs[1] = PAD_ID
    with pytest.raises(ValueError, match=r"rows \[1\] of the mask are all False"):
        model.forward(xs, TS)
    with pytest.raises(ValueError, match="all False"):
        model.generate(xs, START, 3)


@pytest.mark.parametrize("options", [dict(mask=True), dict(mask=True, placement="bahdanau"),
                                     dict(mask=True, encoder="bilstm"),
                                     dict(mask=True, layers=2, skip=True, score="additive")],
                         ids=["luong", "bahdanau", "bilstm", "deep2_skip_additive"])
@pytest.mark.parametrize("reversed", [True, False], ids=["reversed", "as-written"])
def test_generated_weights_are_exactly_zero_on_padding(options, reversed):
    vocab = _vocab(reversed)
    pad_id = vocab.char_to_id[PAD]
    model = AttentionVariant(len(vocab), D, H, pad_id=pad_id, seed=5, dtype=np.float64,
                             **options)
    randomize_params(model, scale=1.0, seed=5)
    xs = np.stack([vocab.encode_question(q) for q in QUESTIONS])
    ids, weights = model.generate(xs, vocab.start_id, 5)
    assert weights.shape == (len(QUESTIONS), 5, WIDTH)
    mask = padding_mask(xs, pad_id)
    assert (weights.transpose(0, 2, 1)[~mask] == 0.0).all()
    assert (weights.transpose(0, 2, 1)[mask] > 0).all()
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, rtol=1e-12)


@pytest.mark.parametrize("options", [dict(), dict(mask=True), dict(encoder="bilstm"),
                                     dict(layers=2, skip=True, score="additive"),
                                     dict(layers=3, score="scaled", mask=True)])
def test_luong_generation_equals_a_teacher_forced_pass(options):
    model = _variant(seed=1, scale=1.5, **options)
    ids, weights = model.generate(XS, START, 6)
    assert len(np.unique(ids)) > 1
    dec_in = np.concatenate((np.full((3, 1), START), ids[:, :-1]), axis=1)
    scores = model.decoder.forward(dec_in, model.encoder.forward(XS))
    np.testing.assert_array_equal(scores.argmax(axis=2), ids)
    np.testing.assert_allclose(model.decoder.attention_weights, weights, rtol=1e-12, atol=1e-14)


# --- what the encoder hands the decoder -------------------------------------------------

@pytest.mark.parametrize("placement", ["luong", "bahdanau"])
def test_bilstm_first_state_is_forward_last_and_backward_first(placement):
    model = _variant(seed=7, encoder="bilstm", placement=placement)
    enc = model.encoder.forward(XS)
    p = dict(zip(model.param_names, model.params))
    xv = p["encoder.embed.W"][XS]
    half = H // 2
    fwd = TimeLSTM(*(p[f"encoder.lstm.forward.{k}"] for k in ("Wx", "Wh", "b"))).forward(xv)
    bwd = TimeLSTM(*(p[f"encoder.lstm.backward.{k}"] for k in ("Wx", "Wh", "b"))).forward(
        xv[:, ::-1])[:, ::-1]  # back in reading order: bwd[:, 0] read the whole question
    np.testing.assert_allclose(enc.hs, np.concatenate((fwd, bwd), axis=2), rtol=1e-13)
    assert len(enc.states) == 1
    np.testing.assert_allclose(enc.states[0][:, :half], fwd[:, -1], rtol=1e-13)
    np.testing.assert_allclose(enc.states[0][:, half:], bwd[:, 0], rtol=1e-13)
    # the decoder starts from it
    model.decoder.start(enc)
    h0 = model.decoder.h if placement == "bahdanau" else model.decoder.lstm.lstms[0].h
    np.testing.assert_array_equal(h0, enc.states[0])


def test_bilstm_state_gradient_reaches_both_ends():
    """The first state's gradient enters the forward LSTM at the last position and the
    backward LSTM at the first: the backward pass, checked against central differences."""
    model = _variant(seed=8, encoder="bilstm")
    rng = np.random.default_rng(8)
    enc = model.encoder.forward(XS)
    dstates = [rng.standard_normal((3, H))]
    model.encoder.backward(np.zeros_like(enc.hs), dstates)
    analytic = [g.copy() for g in model.encoder.grads]

    def loss():
        return float((model.encoder.forward(XS).states[0] * dstates[0]).sum())

    for name, g, p in zip(model.encoder.param_names, analytic, model.encoder.params):
        numeric = numerical_gradient(loss, p)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9, err_msg=name)
        assert np.abs(numeric).max() > 1e-4, name  # every parameter reaches the state


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("layers", [2, 3])
def test_deep_decoder_layer_l_starts_from_encoder_layer_l(layers, skip):
    model = _variant(seed=9, layers=layers, skip=skip)
    p = dict(zip(model.param_names, model.params))
    x = p["encoder.embed.W"][XS]
    expected = []
    for k in range(1, layers + 1):
        out = TimeLSTM(*(p[f"encoder.lstm.layer{k}.{n}"] for n in ("Wx", "Wh", "b"))).forward(x)
        expected.append(out[:, -1])
        x = out + x if skip and k > 1 else out
    enc = model.encoder.forward(XS)
    np.testing.assert_allclose(enc.hs, x, rtol=1e-13)
    model.decoder.start(enc)
    for k in range(layers):
        np.testing.assert_allclose(model.decoder.lstm.lstms[k].h, expected[k], rtol=1e-13)
        for other in range(layers):
            if other != k:  # the layers' states differ: a permutation would be caught
                assert np.abs(expected[other] - expected[k]).max() > 1e-3


def test_deep_encoder_layers_receive_the_decoders_initial_state_gradients():
    """Each decoder layer's dh goes back into the encoder layer it started from: with a
    gradient of the initial states alone, central differences agree."""
    model = _variant(seed=10, layers=2, skip=True)
    rng = np.random.default_rng(10)
    enc = model.encoder.forward(XS)
    dstates = [rng.standard_normal((3, H)) for _ in range(2)]
    model.encoder.backward(np.zeros_like(enc.hs), dstates)
    analytic = {n: g.copy() for n, g in zip(model.encoder.param_names, model.encoder.grads)}

    def loss():
        states = model.encoder.forward(XS).states
        return float(sum((s * d).sum() for s, d in zip(states, dstates)))

    p = dict(zip(model.encoder.param_names, model.encoder.params))
    assert set(p) >= {"lstm.layer1.b", "lstm.layer2.b", "embed.W"}
    for name in ("lstm.layer1.b", "lstm.layer2.b", "embed.W"):
        numeric = numerical_gradient(loss, p[name])
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)
        assert np.abs(numeric).max() > 1e-4, name


# --- invalid options --------------------------------------------------------------------

@pytest.mark.parametrize("options,error,match", [
    (dict(placement="transformer"), ValueError, r"placement must be one of .*'transformer'"),
    (dict(score="cosine"), ValueError, r"score must be one of .*'cosine'"),
    (dict(encoder="gru"), ValueError, r"encoder must be one of .*'gru'"),
    (dict(mask=True), TypeError, r"pad_id must be a whole number"),
    (dict(mask=True, pad_id=-1), ValueError, r"pad_id must be >= 0"),
    (dict(mask=True, pad_id=V), ValueError, rf"pad_id {V} is not an id of a vocabulary of {V}"),
    (dict(mask=True, pad_id=1.0), TypeError, r"pad_id must be a whole number"),
    (dict(pad_id=0), ValueError, r"pad_id is only used with mask=True"),
    (dict(layers=2, encoder="bilstm"), ValueError, r"layers > 1"),
    (dict(layers=2, placement="bahdanau"), ValueError, r"layers > 1"),
    (dict(layers=0), ValueError, r"layers must be >= 1"),
    (dict(layers=2.0), TypeError, r"layers must be a whole number"),
    (dict(skip=True), ValueError, r"skip connections .* layers >= 2"),
    (dict(encoder="bilstm", hidden_size=5), ValueError, r"hidden_size must be even, not 5"),
    (dict(mask=1, pad_id=0), TypeError, r"mask and skip are True or False"),
    (dict(mask="yes", pad_id=0), TypeError, r"mask and skip are True or False"),
    (dict(layers=2, skip=1), TypeError, r"mask and skip are True or False"),
    (dict(dtype=np.int32), TypeError, r"dtype must be a floating-point type"),
])
def test_invalid_options_are_refused_by_name(options, error, match):
    options = dict(options)
    sizes = dict(vocab_size=V, wordvec_size=D, hidden_size=options.pop("hidden_size", H))
    with pytest.raises(error, match=match):
        AttentionVariant(**sizes, **options)


def test_valid_corner_options_are_accepted():
    AttentionVariant(V, D, H, mask=True, pad_id=V - 1)
    AttentionVariant(V, D, H, mask=True, pad_id=np.int64(0))
    AttentionVariant(V, D, 2, encoder="bilstm")
    AttentionVariant(V, D, H, layers=2, skip=False)


# --- the experiment's names -------------------------------------------------------------

@pytest.mark.parametrize("name", list(VARIANTS))
def test_build_model_builds_every_variant(name):
    options = VARIANTS[name]
    model = build_model(name, V, D, H, seed=2, pad_id=PAD_ID)
    assert type(model) is AttentionVariant
    expected = dict(placement="luong", score="dot", encoder="lstm", mask=False, pad_id=None,
                    layers=1, skip=False)
    expected.update(options)
    if options.get("mask"):
        expected["pad_id"] = PAD_ID
    assert model.config == dict(vocab_size=V, wordvec_size=D, hidden_size=H, **expected)
    same = AttentionVariant(V, D, H, seed=2, **{k: expected[k] for k in AttentionVariant.option_names})
    for a, b in zip(model.params, same.params):
        np.testing.assert_array_equal(a, b)
    if options.get("mask"):
        with pytest.raises(ValueError, match=f"the {name} model masks the padding: give its pad_id"):
            build_model(name, V, D, H)
    else:
        assert build_model(name, V, D, H).config["pad_id"] is None


def test_build_model_refuses_an_unknown_name():
    with pytest.raises(ValueError, match=r"unknown model 'luong_cosine'"):
        build_model("luong_cosine", V, D, H)


def test_encoder_output_defaults_to_no_mask():
    out = EncoderOutput(np.zeros((1, 2, H)), [np.zeros((1, H))])
    assert out.mask is None
