"""The Transformer (Vaswani et al. 2017) on the date task: ``EncoderLayer``, ``DecoderLayer``,
``TransformerSeq2seq``. No RNN: attention is all there is.

The encoder reads the whole question at once. Each of its layers lets every character look at
every other (self-attention, padding masked), then works on each position alone
(``FeedForward``). The decoder's layers do the same over the answer so far, with a causal mask,
and in between look at the encoder's output (cross-attention: chapter 8's attention, with
queries from the decoder and keys and values from the encoder).

Each sub-layer is wrapped as **pre-norm**: x + sublayer(LayerNorm(x)), with one more LayerNorm
after the last layer. The paper put the norm after the addition (post-norm:
LayerNorm(x + sublayer(x))), which needs a learning rate that warms up slowly (Xiong et al. 2020,
"On Layer Normalization in the Transformer Architecture"). In pre-norm the residual path runs
from the embedding to the last norm untouched, as in chapter 11's skip connections, so the
gradient reaches the first layer whole, and Adam at the course's fixed 0.001 trains it.

No dropout: the course's models have none, the date task has 45,000 questions for a model this
size, and training stays deterministic (and the gradient checks exact).

Shapes: xs (N, T) question ids; ts (N, T' + 1) answer ids starting with ``_``; D = d_model, h
heads, L layers, F = d_ff; memory (N, T, D) the encoder's output.
"""
import numpy as np

from .attention_variants import padding_mask
from .checks import check_float_dtype, check_whole_number
from .feed_forward import FeedForward
from .layer_norm import LayerNorm
from .layers import TimeAffine, TimeSoftmaxWithLoss, check_ids
from .multi_head import MultiHeadAttention
from .positional import PositionalEmbedding
from .qkv_attention import causal_mask
from .seq2seq import collect_params

# The Transformers of the course's runs (experiment.build_model), by name: their sizes. The
# runner's presets set the training (batch, learning rate, clipping, epochs); their wordvec and
# hidden sizes are the LSTMs' and do not apply here. "transformer" is the one the chapters
# train; the others are the measurements its sizes were chosen by (small preset).
TRANSFORMERS = {
    "transformer": dict(d_model=64, heads=4, layers=2, d_ff=256),
    "transformer_d32": dict(d_model=32, heads=4, layers=2, d_ff=128),
    "transformer_d128": dict(d_model=128, heads=4, layers=2, d_ff=512),
    "transformer_l1": dict(d_model=64, heads=4, layers=1, d_ff=256),
    "transformer_l3": dict(d_model=64, heads=4, layers=3, d_ff=256),
    "transformer_h1": dict(d_model=64, heads=1, layers=2, d_ff=256),
}


class TransformerInitializer:
    """The Transformer's initial weights, from one seeded generator in the model's dtype:
    matrices ~ N(0, 1/fan_in), biases and beta 0, gamma 1, character vectors ~ N(0, 1/D)."""

    def __init__(self, rng, dtype):
        self.rng, self.dtype = rng, dtype

    def normal(self, shape, scale):
        return (self.rng.standard_normal(shape) * scale).astype(self.dtype)

    def zeros(self, n):
        return np.zeros(n, dtype=self.dtype)

    def matrix(self, d_in, d_out):
        return self.normal((d_in, d_out), 1 / np.sqrt(d_in)), self.zeros(d_out)

    def attention(self, D, heads):
        (Wq, bq), (Wk, _), (Wv, bv), (Wo, bo) = (self.matrix(D, D) for _ in range(4))
        return MultiHeadAttention(Wq, bq, Wk, Wv, bv, Wo, bo, heads)

    def norm(self, D):
        return LayerNorm(np.ones(D, dtype=self.dtype), self.zeros(D))

    def feed_forward(self, D, F):
        return FeedForward(*self.matrix(D, F), *self.matrix(F, D))


class EncoderLayer:
    """x (N, T, D) -> (N, T, D): x + SelfAttention(LN(x)), then x + FeedForward(LN(x)).

    ``forward(x, mask=None)``; mask (N, 1, 1, T): True on the question's characters.
    ``backward(dout)`` -> dx."""

    def __init__(self, D, heads, F, init):
        self.norm1, self.attention = init.norm(D), init.attention(D, heads)
        self.norm2, self.ffn = init.norm(D), init.feed_forward(D, F)
        self.params, self.grads, self.param_names = collect_params(
            norm1=self.norm1, attention=self.attention, norm2=self.norm2, ffn=self.ffn)

    def forward(self, x, mask=None):
        n = self.norm1.forward(x)
        x = x + self.attention.forward(n, n, mask)
        return x + self.ffn.forward(self.norm2.forward(x))

    def backward(self, dout):
        dx = dout + self.norm2.backward(self.ffn.backward(dout))  # the residual path adds
        dq, dkv = self.attention.backward(dx)
        return dx + self.norm1.backward(dq + dkv)  # n was both queries and keys/values


class DecoderLayer:
    """y (N, T', D), memory (N, T, D) -> (N, T', D): y + CausalSelfAttention(LN(y)), then
    y + CrossAttention(LN(y), memory), then y + FeedForward(LN(y)).

    ``forward(y, memory, self_mask, cross_mask)``; ``backward(dout)`` -> (dy, dmemory)."""

    def __init__(self, D, heads, F, init):
        self.norm1, self.self_attention = init.norm(D), init.attention(D, heads)
        self.norm2, self.cross_attention = init.norm(D), init.attention(D, heads)
        self.norm3, self.ffn = init.norm(D), init.feed_forward(D, F)
        self.params, self.grads, self.param_names = collect_params(
            norm1=self.norm1, self_attention=self.self_attention, norm2=self.norm2,
            cross_attention=self.cross_attention, norm3=self.norm3, ffn=self.ffn)

    def forward(self, y, memory, self_mask=None, cross_mask=None):
        n = self.norm1.forward(y)
        y = y + self.self_attention.forward(n, n, self_mask)
        y = y + self.cross_attention.forward(self.norm2.forward(y), memory, cross_mask)
        return y + self.ffn.forward(self.norm3.forward(y))

    def step(self, y, memory_kv, cache, cross_mask=None):
        """Decoding: y (N, 1, D) the newest position; memory_kv: the cross-attention's keys and
        values of the encoder's output (``MultiHeadAttention.keys_values``), made once; cache:
        [keys, values] of the positions before (None at the first step), extended in place.
        Returns (N, 1, D), what ``forward`` gives that position."""
        n = self.norm1.forward(y)
        k, v = self.self_attention.keys_values(n)
        if cache[0] is not None:
            k, v = np.concatenate((cache[0], k), axis=2), np.concatenate((cache[1], v), axis=2)
        cache[:] = [k, v]
        y = y + self.self_attention.attend(n, k, v)  # all positions so far: nothing to mask
        y = y + self.cross_attention.attend(self.norm2.forward(y), *memory_kv, cross_mask)
        return y + self.ffn.forward(self.norm3.forward(y))

    def backward(self, dout):
        dy = dout + self.norm3.backward(self.ffn.backward(dout))
        dq, dmemory = self.cross_attention.backward(dy)
        dy = dy + self.norm2.backward(dq)
        dq, dkv = self.self_attention.backward(dy)
        return dy + self.norm1.backward(dq + dkv), dmemory


class TransformerSeq2seq:
    """The encoder-decoder Transformer, with the course's model protocol.

    ``forward(xs, ts)`` returns the mean loss of predicting ts[:, 1:] from ts[:, :-1], all
    positions at once (the causal mask keeps each from seeing its answer); ``backward()`` fills
    ``grads``; ``generate(xs, start_id, n)`` decodes greedily and returns ids (N, n) and the
    cross-attention weights of every layer and head (N, L, h, n, T).

    pad_id: the id of the padding character; its positions at either end of a question get no
    attention (``attention_variants.padding_mask``). None attends to every position.
    ``config`` holds the sizes, so that ``save_params``/``load_model`` rebuild the model.
    """

    size_names = ("vocab_size", "d_model", "heads", "layers", "d_ff")

    def __init__(self, vocab_size, d_model=64, heads=4, layers=2, d_ff=256, pad_id=None,
                 seed=0, dtype=np.float32):
        for name, size in (("vocab_size", vocab_size), ("d_model", d_model), ("heads", heads),
                           ("layers", layers), ("d_ff", d_ff)):
            check_whole_number(name, size, 1)
        check_float_dtype(dtype)
        if d_model % heads:
            raise ValueError(f"d_model = {d_model} must split into heads = {heads} heads of "
                             "equal width (d_model % heads == 0)")
        if d_model % 2:
            raise ValueError(f"d_model must be even (sinusoidal positions), not {d_model}")
        if pad_id is not None:
            check_whole_number("pad_id", pad_id, 0)
            if pad_id >= vocab_size:
                raise ValueError(f"pad_id {pad_id} is not an id of a {vocab_size}-character "
                                 "vocabulary")
        V, D, F = vocab_size, d_model, d_ff
        self.config = dict(vocab_size=V, d_model=D, heads=heads, layers=layers, d_ff=F,
                           pad_id=pad_id)
        init = TransformerInitializer(np.random.default_rng(seed), dtype)
        self.src_embed = PositionalEmbedding(init.normal((V, D), 1 / np.sqrt(D)))
        self.encoder_layers = [EncoderLayer(D, heads, F, init) for _ in range(layers)]
        self.encoder_norm = init.norm(D)
        self.tgt_embed = PositionalEmbedding(init.normal((V, D), 1 / np.sqrt(D)))
        self.decoder_layers = [DecoderLayer(D, heads, F, init) for _ in range(layers)]
        self.decoder_norm = init.norm(D)
        self.affine = TimeAffine(*init.matrix(D, V))
        self.softmax = TimeSoftmaxWithLoss()
        self.params, self.grads, self.param_names = collect_params(
            **{"encoder.embed": self.src_embed},
            **{f"encoder.layer{k}": layer for k, layer in enumerate(self.encoder_layers)},
            **{"encoder.norm": self.encoder_norm, "decoder.embed": self.tgt_embed},
            **{f"decoder.layer{k}": layer for k, layer in enumerate(self.decoder_layers)},
            **{"decoder.norm": self.decoder_norm, "decoder.affine": self.affine})

    @staticmethod
    def parameter_count(vocab_size, d_model, heads, layers, d_ff, pad_id=None):
        """How many numbers a model of these sizes holds (heads and pad_id change nothing)."""
        V, D, F, L = vocab_size, d_model, d_ff, layers
        attention, norm, ffn = 4 * D * D + 3 * D, 2 * D, D * F + F + F * D + D
        encoder = V * D + L * (attention + ffn + 2 * norm) + norm
        decoder = V * D + L * (2 * attention + ffn + 3 * norm) + norm + D * V + V
        return encoder + decoder

    # --- the two halves ------------------------------------------------------------------

    def source_mask(self, xs):
        """(N, 1, 1, T) bool, True on the question's characters; None without a pad_id."""
        pad = self.config["pad_id"]
        return None if pad is None else padding_mask(xs, pad)[:, None, None, :]

    def encode(self, xs, mask=None):
        """xs (N, T) -> memory (N, T, D)."""
        x = self.src_embed.forward(xs)
        for layer in self.encoder_layers:
            x = layer.forward(x, mask)
        return self.encoder_norm.forward(x)

    def decode(self, ys, memory, cross_mask=None):
        """ys (N, T') answer ids so far, memory (N, T, D) -> scores (N, T', V)."""
        y = self.tgt_embed.forward(ys)
        self_mask = causal_mask(ys.shape[1])
        for layer in self.decoder_layers:
            y = layer.forward(y, memory, self_mask, cross_mask)
        return self.affine.forward(self.decoder_norm.forward(y))

    # --- the model's protocol --------------------------------------------------------------

    def forward(self, xs, ts):
        V = self.config["vocab_size"]
        xs, ts = check_ids(xs, V, "xs"), check_ids(ts, V, "ts", allowed=self.softmax.ignore_label)
        mask = self.source_mask(xs)
        score = self.decode(ts[:, :-1], self.encode(xs, mask), mask)
        return self.softmax.forward(score, ts[:, 1:])

    def backward(self, dout=1):
        dy = self.decoder_norm.backward(self.affine.backward(self.softmax.backward(dout)))
        dmemory = 0
        for layer in reversed(self.decoder_layers):
            dy, dm = layer.backward(dy)
            dmemory = dmemory + dm  # every decoder layer read the same memory
        self.tgt_embed.backward(dy)
        dx = self.encoder_norm.backward(dmemory)
        for layer in reversed(self.encoder_layers):
            dx = layer.backward(dx)
        self.src_embed.backward(dx)

    def generate(self, xs, start_id, sample_size):
        """Greedy decoding: xs (N, T) -> ids (N, sample_size) and the cross-attention weights
        (N, L, h, sample_size, T) of every layer and head.

        The question is encoded once, and each decoder layer's cross-attention projects the
        encoder's output to keys and values once. Then one position a step: each layer keeps
        the keys and values of the positions before (a *key-value cache*), so that a step
        computes its newest position only, and attends over all of them. Without the cache,
        step k would run the decoder over all k positions again (the causal mask makes the
        earlier ones come out as before): 55 positions for an answer of 10 instead of 10.
        """
        V = self.config["vocab_size"]
        xs = check_ids(xs, V, "xs")
        check_ids(start_id, V, "start_id", ndim=np.ndim(start_id))
        check_whole_number("sample_size", sample_size, 1)
        N = len(xs)
        mask = self.source_mask(xs)
        memory = self.encode(xs, mask)
        memory_kv = [layer.cross_attention.keys_values(memory) for layer in self.decoder_layers]
        caches = [[None, None] for _ in self.decoder_layers]
        x = np.broadcast_to(start_id, (N,)).reshape(N, 1)
        ids, weights = [], []
        for t in range(sample_size):
            y = self.tgt_embed.forward(x, start=t)
            for layer, kv, cache in zip(self.decoder_layers, memory_kv, caches):
                y = layer.step(y, kv, cache, mask)
            x = self.affine.forward(self.decoder_norm.forward(y)).argmax(axis=-1)  # (N, 1)
            ids.append(x[:, 0])
            weights.append(np.stack([layer.cross_attention.attention_weights[:, :, 0]
                                     for layer in self.decoder_layers], axis=1))
        return np.stack(ids, axis=1), np.stack(weights, axis=3)

    def attention_maps(self):
        """The weights of the latest forward (or encode and decode), every layer and head:
        {"encoder": (N, L, h, T, T), "decoder": (N, L, h, T', T'), "cross": (N, L, h, T', T)}."""
        return {"encoder": np.stack([l.attention.attention_weights
                                     for l in self.encoder_layers], axis=1),
                "decoder": np.stack([l.self_attention.attention_weights
                                     for l in self.decoder_layers], axis=1),
                "cross": np.stack([l.cross_attention.attention_weights
                                   for l in self.decoder_layers], axis=1)}
