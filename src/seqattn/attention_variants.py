"""Part 3's attention models (book §8.4): one model, ``AttentionVariant``, built from the
choices the book describes, each of which can be switched on alone.

- ``placement``: ``"luong"`` (chapter 8's decoder: the new state queries, [c, h] feeds the
  Affine) or ``"bahdanau"`` (the previous state queries, c enters the LSTM: ``bahdanau``);
- ``score``: ``"dot"`` (chapter 8's), ``"scaled"`` or ``"additive"`` (``scores``);
- ``encoder``: ``"lstm"`` or ``"bilstm"`` (``bilstm.TimeBiLSTM``, H/2 units per direction,
  concatenated, so that the encoder's states stay H wide);
- ``mask``: give padding no attention (``scored_attention``; needs ``pad_id``);
- ``layers`` and ``skip``: stacked LSTMs in encoder and decoder, with residual connections
  (``stacked_lstm``); the decoder's layer l starts from the encoder's layer l.

With the defaults (``placement="luong", score="dot", encoder="lstm", mask=False, layers=1``)
it computes what ``AttentionSeq2seq`` computes, from the same initial weights.

Encoder and decoder pass an ``EncoderOutput``: hs (N, T, H), the states the decoder starts
from (one (N, H) per decoder layer) and the mask (N, T) or None.
"""
from dataclasses import dataclass

import numpy as np

from .bahdanau import BahdanauDecoder
from .bilstm import TimeBiLSTM
from .checks import check_float_dtype, check_whole_number
from .layers import TimeSoftmaxWithLoss, check_ids
from .scored_attention import ScoredAttention
from .scores import SCORES, AdditiveScore, DotScore, ScaledDotScore
from .seq2seq import Initializer, Seq2seq, collect_params
from .stacked_lstm import TimeStackedLSTM

PLACEMENTS = ("luong", "bahdanau")
ENCODERS = ("lstm", "bilstm")


@dataclass
class EncoderOutput:
    """What the encoder hands the decoder: hs (N, T, H); states [(N, H)], one per decoder
    layer; mask (N, T) bool or None."""

    hs: np.ndarray
    states: list
    mask: np.ndarray = None


def padding_mask(xs, pad_id):
    """xs (N, T) -> (N, T) bool, False on the padding: the runs of pad_id at either end of a
    question (spaces inside a question, as in "Aug 8, 2001", are characters)."""
    filled = xs != pad_id
    T = xs.shape[1]
    first = filled.argmax(axis=1)
    last = T - 1 - filled[:, ::-1].argmax(axis=1)
    t = np.arange(T)
    return (t >= first[:, None]) & (t <= last[:, None]) & filled.any(axis=1, keepdims=True)


class VariantEncoder:
    """xs (N, T) -> EncoderOutput: a stack of ``layers`` LSTMs (residual connections if
    skip), or a bidirectional LSTM whose first state for the decoder is [forward LSTM's last
    state, backward LSTM's last state] (the backward one ends at the first character)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size, init, kind, layers, skip,
                 pad_id):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.kind, self.pad_id, self.H = kind, pad_id, H
        self.embed = init.time_embedding(V, D)
        if kind == "bilstm":
            f, b = init.time_lstm(D, H // 2, False), init.time_lstm(D, H // 2, False)
            self.lstm = TimeBiLSTM(*f.params, *b.params, merge="concat")
        else:
            self.lstm = TimeStackedLSTM(
                [init.time_lstm(D if k == 0 else H, H, stateful=False) for k in range(layers)],
                skip=skip)
        self.params, self.grads, self.param_names = collect_params(embed=self.embed,
                                                                   lstm=self.lstm)

    def forward(self, xs):
        hs = self.lstm.forward(self.embed.forward(xs))
        if self.kind == "bilstm":
            half = self.H // 2
            states = [np.concatenate((hs[:, -1, :half], hs[:, 0, half:]), axis=1)]
        else:
            states = self.lstm.states()
        mask = None if self.pad_id is None else padding_mask(xs, self.pad_id)
        return EncoderOutput(hs, states, mask)

    def backward(self, dhs, dstates):
        if self.kind == "bilstm":
            half = self.H // 2
            dhs = dhs.copy()
            dhs[:, -1, :half] += dstates[0][:, :half]
            dhs[:, 0, half:] += dstates[0][:, half:]
            dxs = self.lstm.backward(dhs)
        else:
            dxs = self.lstm.backward(dhs, dlast=dstates)
        self.embed.backward(dxs)


class LuongDecoder:
    """Chapter 8's decoder with a choice of score, an optional mask and a stack of LSTMs:
    xs (N, T'), enc -> scores (N, T', V). The top layer's states query the encoder."""

    def __init__(self, vocab_size, wordvec_size, hidden_size, init, attention, layers, skip):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = init.time_embedding(V, D)
        self.lstm = TimeStackedLSTM(
            [init.time_lstm(D if k == 0 else H, H, stateful=True) for k in range(layers)],
            skip=skip)
        self.attention = attention
        self.affine = init.time_affine(2 * H, V)  # reads [context, top layer's output]
        self.params, self.grads, self.param_names = collect_params(
            embed=self.embed, lstm=self.lstm, attention=attention, affine=self.affine)
        self.attention_weights = None

    def start(self, enc):
        self.lstm.set_state(enc.states)
        self.attention.start(enc.hs, enc.mask)

    def _step(self, xs, enc):
        self.attention.clear()
        dec_hs = self.lstm.forward(self.embed.forward(xs))
        c = self.attention.forward(dec_hs)
        self.attention_weights = self.attention.attention_weights
        return self.affine.forward(np.concatenate((c, dec_hs), axis=2))

    def forward(self, xs, enc):
        self.start(enc)
        return self._step(xs, enc)

    def backward(self, dscore):
        dout = self.affine.backward(dscore)
        H = dout.shape[2] // 2
        dc, ddec_hs0 = dout[:, :, :H], dout[:, :, H:]
        ddec_hs1 = self.attention.backward(dc)
        dhs = self.attention.finish_backward()
        self.embed.backward(self.lstm.backward(ddec_hs0 + ddec_hs1))
        return dhs, self.lstm.dh


def _decode_steps(decoder, enc, start_id, sample_size):
    N = enc.hs.shape[0]
    x = np.broadcast_to(start_id, (N,)).reshape(N, 1)
    decoder.start(enc)
    for _ in range(sample_size):
        x = decoder._step(x, enc).argmax(axis=2)
        yield x[:, 0]


class AttentionVariant(Seq2seq):
    """Seq2seq with attention, in any of Part 3's variants (see the module's docstring).

    ``forward(xs, ts)``, ``backward()``, ``generate(xs, start_id, n)`` -> ids (N, n) and the
    attention weights (N, n, T), as ``AttentionSeq2seq``. ``config`` holds the sizes and the
    options, so that ``save_params``/``load_model`` rebuild the same variant.
    """

    option_names = ("placement", "score", "encoder", "mask", "pad_id", "layers", "skip")

    def __init__(self, vocab_size, wordvec_size, hidden_size, placement="luong", score="dot",
                 encoder="lstm", mask=False, pad_id=None, layers=1, skip=False, seed=0,
                 dtype=np.float32):
        for name, size in (("vocab_size", vocab_size), ("wordvec_size", wordvec_size),
                           ("hidden_size", hidden_size), ("layers", layers)):
            check_whole_number(name, size, 1)
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, not {placement!r}")
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, not {score!r}")
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, not {encoder!r}")
        if not isinstance(mask, (bool, np.bool_)) or not isinstance(skip, (bool, np.bool_)):
            raise TypeError(f"mask and skip are True or False, not {mask!r} and {skip!r}")
        mask, skip = bool(mask), bool(skip)
        if mask:
            check_whole_number("pad_id", pad_id, 0)
            if pad_id >= vocab_size:
                raise ValueError(f"pad_id {pad_id} is not an id of a vocabulary of "
                                 f"{vocab_size} characters")
        elif pad_id is not None:
            raise ValueError("pad_id is only used with mask=True")
        if layers > 1 and (encoder != "lstm" or placement != "luong"):
            raise ValueError("layers > 1 is built for the Luong placement with an LSTM encoder")
        if skip and layers == 1:
            raise ValueError("skip connections join layers: they need layers >= 2")
        if encoder == "bilstm" and hidden_size % 2:
            raise ValueError(f"the bidirectional encoder gives each direction hidden_size / 2 "
                             f"units: hidden_size must be even, not {hidden_size}")
        check_float_dtype(dtype)
        V, D, H = vocab_size, wordvec_size, hidden_size
        init = Initializer(np.random.default_rng(seed), dtype)
        self.config = dict(vocab_size=V, wordvec_size=D, hidden_size=H, placement=placement,
                           score=score, encoder=encoder, mask=mask, pad_id=pad_id,
                           layers=layers, skip=skip)
        self.encoder = VariantEncoder(V, D, H, init, encoder, layers, skip,
                                      pad_id if mask else None)
        if score == "additive":
            score_layer = AdditiveScore(init.normal((H, H), 1 / np.sqrt(H)),
                                        init.normal((H, H), 1 / np.sqrt(H)),
                                        init.normal((H,), 1 / np.sqrt(H)))
        else:
            score_layer = ScaledDotScore() if score == "scaled" else DotScore()
        attention = ScoredAttention(score_layer)
        if placement == "bahdanau":
            self.decoder = BahdanauDecoder(V, D, H, init, attention)
        else:
            self.decoder = LuongDecoder(V, D, H, init, attention, layers, skip)
        self.softmax = TimeSoftmaxWithLoss()
        self.params, self.grads, self.param_names = collect_params(
            encoder=self.encoder, decoder=self.decoder)

    def backward(self, dout=1):
        dscore = self.softmax.backward(dout)
        self.encoder.backward(*self.decoder.backward(dscore))

    def generate(self, xs, start_id, sample_size):
        """Greedy decoding: xs (N, T) -> ids (N, sample_size), and the attention weights of
        every step it decoded (N, sample_size, T)."""
        xs = check_ids(xs, self.config["vocab_size"], "xs")
        check_ids(start_id, self.config["vocab_size"], "start_id", ndim=np.ndim(start_id))
        ids, weights = [], []
        for x in _decode_steps(self.decoder, self.encoder.forward(xs), start_id, sample_size):
            ids.append(x)
            weights.append(self.decoder.attention_weights[:, 0])
        return np.stack(ids, axis=1), np.stack(weights, axis=1)


# The variants the course trains (scripts/experiments.py), by name.
VARIANTS = {
    "luong_scaled": dict(score="scaled"),
    "luong_additive": dict(score="additive"),
    "bahdanau_dot": dict(placement="bahdanau"),
    "bahdanau_additive": dict(placement="bahdanau", score="additive"),
    "masked": dict(mask=True),
    "bilstm": dict(encoder="bilstm", mask=True),
    "deep2": dict(layers=2),
    "deep2_skip": dict(layers=2, skip=True),
    # for the exercises, with the small preset
    "deep4": dict(layers=4),
    "deep4_skip": dict(layers=4, skip=True),
}
