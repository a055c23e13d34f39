"""The Transformer (Part 4): every layer and the whole model against central differences
(float64, below 1e-6, no parameter unused); masks give exactly zero weight and zero gradient;
generate agrees with the teacher-forced forward; sizes, errors and checkpoints."""
import numpy as np
import pytest

from seqattn import experiment as ex
from seqattn.checkpoint import CheckpointError, load_model, save_params
from seqattn.data import Vocabulary
from seqattn.feed_forward import FeedForward
from seqattn.gradcheck import check_layer, check_model, randomize_params
from seqattn.layer_norm import LayerNorm
from seqattn.multi_head import MultiHeadAttention, merge_heads, split_heads
from seqattn.positional import PositionalEmbedding, sinusoidal_encoding
from seqattn.qkv_attention import ScaledDotProductAttention, causal_mask
from seqattn.speed import gflop, replay, transformer_products
from seqattn.transformer import (TRANSFORMERS, DecoderLayer, EncoderLayer, TransformerSeq2seq,
                                 TransformerInitializer)
from test_layers import assert_checks

N, T, T_DEC, D, HEADS, F, V = 3, 6, 4, 8, 2, 12, 11
PAD = 0
# question ids with padding (id 0) at the end, at both ends, and none; no 0 inside a question
XS = np.array([[3, 4, 5, 6, 0, 0],
               [0, 7, 8, 9, 10, 0],
               [1, 2, 3, 4, 5, 6]])
TS = np.array([[1, 2, 3, 4, 5], [1, 5, 4, 3, 2], [1, 9, 9, 8, 7]])
PAD_MASK = (XS != PAD)[:, None, None, :]  # (N, 1, 1, T)


def rng(seed=0):
    return np.random.default_rng(seed)


def init(seed=0):
    return TransformerInitializer(rng(seed), np.float64)


def randomize(layer, seed=1, scale=0.5):
    r = rng(seed)
    for p in layer.params:
        p[...] = scale * r.standard_normal(p.shape)
    return layer


class SelfAttention:
    """MultiHeadAttention as self-attention, one input, for check_layer."""

    def __init__(self, mha, mask):
        self.mha, self.mask = mha, mask
        self.params, self.grads = mha.params, mha.grads
        self.param_names = mha.param_names

    def forward(self, x):
        return self.mha.forward(x, x, self.mask)

    def backward(self, dout):
        dq, dkv = self.mha.backward(dout)
        return dq + dkv


class WithMasks:
    """A layer whose forward takes masks after its float inputs, for check_layer."""

    def __init__(self, layer, *masks):
        self.layer, self.masks = layer, masks
        self.params, self.grads, self.param_names = layer.params, layer.grads, layer.param_names

    def forward(self, *inputs):
        return self.layer.forward(*inputs, *self.masks)

    def backward(self, dout):
        return self.layer.backward(dout)


# --- gradient checks, layer by layer ------------------------------------------------------

@pytest.mark.parametrize("mask", ["none", "padding", "causal"])
def test_scaled_dot_product_attention_gradients(mask):
    r = rng()
    Tk = T_DEC if mask == "causal" else T
    q = r.standard_normal((N, HEADS, T_DEC, 4))
    k, v = r.standard_normal((N, HEADS, Tk, 4)), r.standard_normal((N, HEADS, Tk, 4))
    m = {"none": None, "padding": PAD_MASK, "causal": causal_mask(T_DEC)}[mask]
    layer = WithMasks(ScaledDotProductAttention(), m)
    assert layer.forward(q, k, v).shape == (N, HEADS, T_DEC, 4)
    result = check_layer(layer, q, k, v, input_names=["q", "k", "v"])
    assert_checks(result)


@pytest.mark.parametrize("kind", ["self", "cross"])
def test_multi_head_attention_gradients(kind):
    r = rng(2)
    mha = randomize(init().attention(D, HEADS))
    assert mha.param_names == ("Wq", "bq", "Wk", "Wv", "bv", "Wo", "bo")
    if kind == "self":
        x = r.standard_normal((N, T, D))
        layer = SelfAttention(mha, PAD_MASK)
        assert layer.forward(x).shape == (N, T, D)
        assert_checks(check_layer(layer, x, input_names=["x"]))
    else:
        y, memory = r.standard_normal((N, T_DEC, D)), r.standard_normal((N, T, D))
        layer = WithMasks(mha, PAD_MASK)
        assert layer.forward(y, memory).shape == (N, T_DEC, D)
        assert mha.attention_weights.shape == (N, HEADS, T_DEC, T)
        assert_checks(check_layer(layer, y, memory, input_names=["xq", "xkv"]))


def test_a_key_bias_would_be_unused_which_is_why_there_is_none():
    """q . (k + b) = q . k + q . b adds the same number to a query's whole row of scores:
    the softmax does not see it. The gradient check reports such a parameter as unused."""
    r = rng(3)
    mha = randomize(init().attention(D, HEADS))
    bk = r.standard_normal(D)
    Wq, bq, Wk, Wv, bv, Wo, bo = mha.params
    x = r.standard_normal((N, T, D))
    plain = mha.forward(x, x)
    shifted = MultiHeadAttention(Wq, bq, Wk, Wv, bv, Wo, bo, HEADS)
    q = split_heads(x @ Wq + bq, HEADS)
    k = split_heads(x @ Wk + bk, HEADS)
    v = split_heads(x @ Wv + bv, HEADS)
    out = merge_heads(shifted.attention.forward(q, k, v)) @ Wo + bo
    np.testing.assert_allclose(out, plain, rtol=1e-12, atol=1e-12)


def test_layer_norm_gradients_and_values():
    r = rng(4)
    norm = randomize(LayerNorm(np.ones(D), np.zeros(D)))
    x = 3 + 2 * r.standard_normal((N, T, D))
    assert_checks(check_layer(norm, x, input_names=["x"]))
    plain = LayerNorm(np.ones(D), np.zeros(D)).forward(x)
    np.testing.assert_allclose(plain.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(plain.var(axis=-1), 1, rtol=1e-4)  # eps = 1e-5 in the variance


def test_feed_forward_gradients():
    r = rng(5)
    ffn = randomize(init().feed_forward(D, F))
    x = r.standard_normal((N, T, D))
    out = ffn.forward(x)
    W1, b1, W2, b2 = ffn.params
    np.testing.assert_allclose(out, np.maximum(x @ W1 + b1, 0) @ W2 + b2, rtol=1e-12)
    assert_checks(check_layer(ffn, x, input_names=["x"]))


def test_positional_embedding_gradients_and_sinusoids():
    layer = randomize(PositionalEmbedding(np.zeros((V, D))))
    out = layer.forward(XS)
    W = layer.params[0]
    np.testing.assert_allclose(out, W[XS] * np.sqrt(D) + sinusoidal_encoding(T, D), rtol=1e-12)
    pe = sinusoidal_encoding(50, D)
    assert pe.shape == (50, D)
    np.testing.assert_allclose(pe[0], [0, 1] * (D // 2))  # sin 0, cos 0
    np.testing.assert_allclose(pe[7, 0], np.sin(7))  # the fastest clock turns 1 radian a step
    np.testing.assert_allclose(pe[7, D - 1], np.cos(7 / 10000 ** ((D - 2) / D)))
    # pe[t + k] is pe[t] turned by an angle that depends on k only (pair by pair)
    rates = 10000.0 ** (-np.arange(0, D, 2) / D)
    for t in (3, 20):
        c, s = np.cos(5 * rates), np.sin(5 * rates)
        np.testing.assert_allclose(pe[t + 5, 0::2], pe[t, 0::2] * c + pe[t, 1::2] * s, atol=1e-12)
    assert_checks(check_layer(layer, XS))


def test_positions_switched_off():
    layer = randomize(PositionalEmbedding(np.zeros((V, D))))
    with_positions = layer.forward(XS)
    layer.positions = False
    W = layer.params[0]
    np.testing.assert_array_equal(layer.forward(XS), W[XS] * np.sqrt(D))
    np.testing.assert_array_equal(layer.forward(XS[:, 2:3], start=2), W[XS[:, 2:3]] * np.sqrt(D))
    layer.positions = True
    np.testing.assert_array_equal(layer.forward(XS), with_positions)
    # without positions the encoder cannot tell order: a question's characters swapped give
    # the same vectors, swapped
    model = TransformerSeq2seq(V, d_model=D, heads=HEADS, layers=1, d_ff=F, seed=3,
                               dtype=np.float64)
    model.src_embed.positions = False
    swapped = XS[2, [1, 0, 2, 3, 4, 5]][None]
    memory, memory_swapped = (model.encode(x) for x in (XS[2:], swapped))
    np.testing.assert_allclose(memory_swapped[0], memory[0, [1, 0, 2, 3, 4, 5]], atol=1e-12)
    model.src_embed.positions = True
    assert not np.allclose(model.encode(swapped)[0], memory[0, [1, 0, 2, 3, 4, 5]])


def test_encoder_layer_gradients():
    x = rng(6).standard_normal((N, T, D))
    layer = WithMasks(randomize(EncoderLayer(D, HEADS, F, init())), PAD_MASK)
    assert layer.forward(x).shape == (N, T, D)
    assert_checks(check_layer(layer, x, input_names=["x"]))


def test_decoder_layer_gradients():
    r = rng(7)
    y, memory = r.standard_normal((N, T_DEC, D)), r.standard_normal((N, T, D))
    layer = WithMasks(randomize(DecoderLayer(D, HEADS, F, init())), causal_mask(T_DEC),
                      PAD_MASK)
    assert layer.forward(y, memory).shape == (N, T_DEC, D)
    assert_checks(check_layer(layer, y, memory, input_names=["y", "memory"]))


@pytest.mark.parametrize("layers,heads", [(1, 1), (2, 2)])
def test_whole_model_gradients(layers, heads):
    model = TransformerSeq2seq(V, D, heads, layers, F, pad_id=PAD, seed=1, dtype=np.float64)
    randomize_params(model, 0.5)
    result = check_model(model, XS, TS)
    assert len(result.rows) == len(model.params)
    # the padding's own vector is read only at padding positions, which nothing attends to;
    # id 0 never occurs in these answers, so the decoder's row is unused as well
    assert result.max_relative_error < 1e-6, f"\n{result}"
    assert result.unused == [], result.unused


# --- masks: exactly zero weight and exactly zero gradient -----------------------------------

def test_padding_gets_zero_weight_and_zero_gradient():
    r = rng(8)
    q = r.standard_normal((N, HEADS, T_DEC, 4))
    k, v = r.standard_normal((N, HEADS, T, 4)), r.standard_normal((N, HEADS, T, 4))
    layer = ScaledDotProductAttention()
    layer.forward(q, k, v, PAD_MASK)
    a = layer.attention_weights
    padded = np.broadcast_to(~PAD_MASK, a.shape)
    assert (a[padded] == 0).all() and (a[~padded] > 0).all()
    np.testing.assert_allclose(a.sum(axis=-1), 1)
    dq, dk, dv = layer.backward(r.standard_normal((N, HEADS, T_DEC, 4)))
    key_padded = np.broadcast_to(~PAD_MASK[:, :, 0, :, None], dk.shape)
    assert (dk[key_padded] == 0).all() and (dv[key_padded] == 0).all()
    assert (dk[~key_padded] != 0).all()


def test_causal_mask_hides_the_future_exactly():
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False],
                                       [True, True, True]]
    r = rng(9)
    layer = randomize(DecoderLayer(D, HEADS, F, init()))
    y, memory = r.standard_normal((N, T_DEC, D)), r.standard_normal((N, T, D))
    out = layer.forward(y, memory, causal_mask(T_DEC))
    w = layer.self_attention.attention_weights
    assert (w[..., ~causal_mask(T_DEC)] == 0).all()
    # position 1's output is a function of positions 0 and 1 only: zero gradient to 2 and 3
    dout = np.zeros_like(out)
    dout[:, 1] = r.standard_normal((N, D))
    dy, _ = layer.backward(dout)
    assert (dy[:, 2:] == 0).all() and (dy[:, :2] != 0).all()
    # and changing the future changes nothing before it
    y2 = y.copy()
    y2[:, 3] += 1
    out2 = layer.forward(y2, memory, causal_mask(T_DEC))
    np.testing.assert_array_equal(out2[:, :3], out[:, :3])


def test_the_padding_vector_of_the_model_gets_exactly_zero_gradient():
    model = randomize_params(TransformerSeq2seq(V, D, HEADS, 2, F, pad_id=PAD,
                                                dtype=np.float64), 0.5)
    model.forward(XS, TS)
    model.backward()
    W_grad = model.grads[model.param_names.index("encoder.embed.W")]
    assert (W_grad[PAD] == 0).all()
    assert (W_grad[XS[XS != PAD]] != 0).all()
    # without a pad_id, the padding is read like any character
    model.config["pad_id"] = None
    model.forward(XS, TS)
    model.backward()
    assert (W_grad[PAD] != 0).all()


# --- the model: generate, sizes, errors -----------------------------------------------------

def test_generate_is_what_the_teacher_forced_forward_would_answer():
    model = randomize_params(TransformerSeq2seq(V, D, HEADS, 2, F, pad_id=PAD, seed=2), 0.5)
    ids, cross = model.generate(XS, 1, 5)
    assert ids.shape == (N, 5) and cross.shape == (N, 2, HEADS, 5, T)
    ts = np.concatenate((np.ones((N, 1), int), ids), axis=1)
    memory = model.encode(XS, model.source_mask(XS))
    scores = model.decode(ts[:, :-1], memory, model.source_mask(XS))
    np.testing.assert_array_equal(scores.argmax(axis=-1), ids)
    # the key-value cache gives every step the weights the whole answer's pass gives it
    np.testing.assert_allclose(model.attention_maps()["cross"], cross, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cross.sum(axis=-1), 1, rtol=1e-5)
    assert (cross[0, ..., 4:] == 0).all() and (cross[1, ..., [0, 5]] == 0).all()
    maps = model.attention_maps()
    assert maps["encoder"].shape == (N, 2, HEADS, T, T)
    assert maps["decoder"].shape == (N, 2, HEADS, 5, 5)
    # each start id of its own, as predict passes them
    ids2, _ = model.generate(XS, np.array([1, 1, 1]), 5)
    np.testing.assert_array_equal(ids2, ids)


def test_parameter_count_and_dtype():
    for sizes in TRANSFORMERS.values():
        model = TransformerSeq2seq(59, **sizes, pad_id=PAD)
        assert sum(p.size for p in model.params) == TransformerSeq2seq.parameter_count(
            59, **sizes)
        assert all(p.dtype == np.float32 for p in model.params)
    assert model.encode(XS).dtype == np.float32


@pytest.mark.parametrize("kwargs,message", [
    (dict(d_model=10, heads=4), "heads of equal width"),
    (dict(d_model=9, heads=3), "even"),
    (dict(heads=0), "heads must be >= 1"),
    (dict(pad_id=V), "not an id"),
    (dict(layers=1.5), "whole number"),
])
def test_bad_sizes_are_refused_with_a_clear_error(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        TransformerSeq2seq(V, **kwargs)


@pytest.mark.parametrize("mask,message", [
    (np.ones((N, 1, 1, T), dtype=int), "boolean"),
    (np.ones((N, 1, 1, T + 1), dtype=bool), "does not broadcast"),
    (np.zeros((N, 1, 1, T), dtype=bool), "no key at all"),
])
def test_bad_masks_are_refused(mask, message):
    r = rng()
    q = k = v = r.standard_normal((N, HEADS, T, 4))
    with pytest.raises(ValueError, match=message):
        ScaledDotProductAttention().forward(q, k, v, mask)


def test_bad_ids_are_refused():
    model = TransformerSeq2seq(V, D, HEADS, 1, F, pad_id=PAD)
    with pytest.raises(ValueError, match="xs"):
        model.forward(XS + V, TS)
    with pytest.raises(ValueError, match="start_id"):
        model.generate(XS, V, 3)


# --- checkpoints and the runner -------------------------------------------------------------

VOCAB = Vocabulary("abcde", question_width=T, answer_width=4)  # V = 7


def test_checkpoint_round_trip_and_a_config_that_does_not_fit(tmp_path):
    model = randomize_params(TransformerSeq2seq(len(VOCAB), D, HEADS, 2, F, pad_id=5), 0.5)
    path = tmp_path / "t.npz"
    save_params(model, path, vocab=VOCAB)
    loaded, vocab = load_model(path)
    assert loaded.config == model.config and vocab.to_dict() == VOCAB.to_dict()
    xs = XS % len(VOCAB)
    np.testing.assert_array_equal(loaded.generate(xs, 1, 4)[0], model.generate(xs, 1, 4)[0])
    model.config["layers"] = 3  # a config that claims more than the file holds
    save_params(model, path, vocab=VOCAB)
    with pytest.raises(CheckpointError, match="describes a model of"):
        load_model(path)
    model.config["layers"] = "two"
    save_params(model, path, vocab=VOCAB)
    with pytest.raises(CheckpointError, match="positive integers"):
        load_model(path)


def test_the_runner_builds_and_resumes_a_transformer(tmp_path):
    model = ex.build_model("transformer", 59, 16, 256, seed=0, pad_id=PAD)
    assert model.config == dict(vocab_size=59, **TRANSFORMERS["transformer"], pad_id=PAD)
    with pytest.raises(ValueError, match="pad_id"):
        ex.build_model("transformer", 59, 16, 256)
    config = ex.Config("transformer_d32", "as-written", 1)
    settings = ex.preset_settings("small", train_size=256, test_size=64, batch_size=64)
    data = ex.run_data(settings, "as-written")
    pad = data[2].char_to_id[" "]
    run = ex.Run(config, settings, len(data[2]), pad_id=pad)
    first = ex.train_epoch(run, data)
    run.save_state(tmp_path / "state.npz")
    second = ex.train_epoch(run, data)
    resumed = ex.Run(config, settings, len(data[2]), pad_id=pad).load_state(tmp_path / "state.npz")
    again = ex.train_epoch(resumed, data)
    assert again["loss"] == second["loss"] and again["accuracy"] == second["accuracy"]
    assert second["loss"] < first["loss"]


def test_the_matrix_products_of_an_iteration():
    """transformer_products against a count made another way: a token passes through each
    weight matrix once forward, and backward does two products per forward product (dW, dx)."""
    N, T_in, T_out, V_, Dm, h, L, Fm = 128, 29, 10, 59, 64, 4, 2, 256
    products = transformer_products(N, T_in, T_out, V_, Dm, h, L, Fm)
    per_token = (N * T_in * L * (4 * Dm * Dm + 2 * Dm * Fm)  # encoder: q, k, v, o; ffn
                 + N * T_out * L * (6 * Dm * Dm + 2 * Dm * Fm)  # self q k v o, cross q o; ffn
                 + N * T_in * L * 2 * Dm * Dm  # cross-attention's keys and values of memory
                 + N * T_out * Dm * V_)  # the output Affine
    # per head: scores and weighted sum, 2 products of Tq * Tk * d multiply-adds each
    heads = L * N * h * 2 * (T_in * T_in + T_out * T_out + T_out * T_in) * (Dm // h)
    assert gflop(products) == pytest.approx(3 * 2 * (per_token + heads) / 1e9)
    assert gflop(products) == pytest.approx(3.71, abs=0.01)
    # and every product has shapes that arrays of these sizes can take
    run = replay(transformer_products(2, 3, 2, 5, 4, 2, 1, 6), rng())
    run()
