"""The encoder-decoder model of chapter 7: ``Encoder``, ``Decoder``, ``Seq2seq``.

The encoder reads the question and squeezes it into its last hidden state h (N, H); the
decoder starts from h and writes the answer one character at a time. During training the
decoder is fed the true previous character (teacher forcing); ``generate`` feeds back its own
guesses.

xs (N, T) question ids; ts (N, T_out + 1) answer ids starting with the start symbol ``_``.
"""
import numpy as np

from .checks import check_float_dtype, check_whole_number
from .layers import TimeAffine, TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss, check_ids


def collect_params(**parts):
    """Joins the ``params``, ``grads`` and ``param_names`` of named parts into three lists.

    collect_params(embed=e, lstm=l) names e's W "embed.W" and l's Wx "lstm.Wx".
    """
    params, grads, names = [], [], []
    for prefix, part in parts.items():
        params += part.params
        grads += part.grads
        names += [f"{prefix}.{name}" for name in part.param_names]
    return params, grads, names


class Initializer:
    """Builds the models' layers with the book's initial weights, drawn from one seeded
    generator in the model's dtype.

    Word vectors ~ N(0, 0.01^2); weight matrices ~ N(0, 1/fan_in) (Xavier); biases zero.
    """

    def __init__(self, rng, dtype):
        self.rng, self.dtype = rng, dtype

    def normal(self, shape, scale):
        """An array of shape drawn from N(0, scale^2), in the model's dtype: the next draw of
        the model's generator (Part 3's layers are drawn with it too)."""
        return (self.rng.standard_normal(shape) * scale).astype(self.dtype)

    def time_embedding(self, V, D):
        return TimeEmbedding(self.normal((V, D), 0.01))

    def time_lstm(self, D, H, stateful):
        """A TimeLSTM reading D-dimensional inputs into H hidden units."""
        return TimeLSTM(self.normal((D, 4 * H), 1 / np.sqrt(D)),
                        self.normal((H, 4 * H), 1 / np.sqrt(H)),
                        np.zeros(4 * H, dtype=self.dtype), stateful=stateful)

    def time_affine(self, D, V):
        return TimeAffine(self.normal((D, V), 1 / np.sqrt(D)), np.zeros(V, dtype=self.dtype))


class Encoder:
    """xs (N, T) -> h (N, H), the LSTM's hidden state after the last character."""

    def __init__(self, vocab_size, wordvec_size, hidden_size, init):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = init.time_embedding(V, D)
        self.lstm = init.time_lstm(D, H, stateful=False)
        self.params, self.grads, self.param_names = collect_params(embed=self.embed, lstm=self.lstm)
        self.hs = None

    def forward(self, xs):
        hs = self.lstm.forward(self.embed.forward(xs))
        self.hs = hs
        return hs[:, -1, :]

    def backward(self, dh):
        dhs = np.zeros_like(self.hs)
        dhs[:, -1, :] = dh  # only the last state was passed on
        self.embed.backward(self.lstm.backward(dhs))


def time_axis_step(decoder, h):
    """Greedy decoding's step through the time-axis layers: ``decoder._step`` on one character
    per sample, ids (N,) -> scores (N, V). Slower than a ``decoding_step`` written for the
    decoder, but right for any ``_step``."""
    return lambda ids: decoder._step(ids[:, None], h)[:, 0]


class Decoder:
    """xs (N, T) previous characters, h (N, H) from the encoder -> scores (N, T, V)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size, init):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = init.time_embedding(V, D)
        self.lstm = init.time_lstm(D, H, stateful=True)
        self.affine = init.time_affine(H, V)
        self.params, self.grads, self.param_names = collect_params(
            embed=self.embed, lstm=self.lstm, affine=self.affine)

    def start(self, h):
        """Starts a new answer from what the encoder handed over: here, the initial state."""
        self.lstm.set_state(h)

    def _step(self, xs, h):
        """The forward pass after ``start``: xs (N, T) -> scores (N, T, V)."""
        return self.affine.forward(self.lstm.forward(self.embed.forward(xs)))

    def forward(self, xs, h):
        self.start(h)
        return self._step(xs, h)

    def backward(self, dscore):
        dout = self.lstm.backward(self.affine.backward(dscore))
        self.embed.backward(dout)
        return self.lstm.dh  # the gradient of h flows back into the encoder

    def decoding_step(self, h):
        """One step of greedy decoding, after ``start``: a function ids (N,) -> scores (N, V),
        the same scores as ``_step`` on one character per sample. Decoding needs no backward
        pass, so it skips the time axis: the Embedding, the input product and the bias become
        one lookup in a (V, 4H) table, every character's x Wx + b, computed once here; the LSTM
        takes one ``step``; the Affine layer is one product."""
        Wx, _, b = self.lstm.params
        table = self.embed.params[0] @ Wx + b  # (V, 4H)
        W, b_out = self.affine.params

        def step(ids):
            return self.lstm.step(table[ids]) @ W + b_out
        return step

    def decode_steps(self, h, start_id, sample_size):
        """Greedy decoding of a whole batch, one step at a time: yields the ids (N,) chosen at
        each step, which are also the next step's input. start_id: an int, or one id per
        sample (N,)."""
        x = np.broadcast_to(start_id, (h.shape[0],))
        self.start(h)
        # a subclass that changed _step but not decoding_step decodes through its _step
        mro = type(self).__mro__
        step_from = next(c for c in mro if "_step" in vars(c))
        own = issubclass(next(c for c in mro if "decoding_step" in vars(c)), step_from)
        step = self.decoding_step(h) if own else time_axis_step(self, h)
        for _ in range(sample_size):
            x = step(x).argmax(axis=1)  # (N,): each sample's most likely character
            yield x

    def generate(self, h, start_id, sample_size):
        """Greedy decoding: h (N, H) -> ids (N, sample_size)."""
        return np.stack(list(self.decode_steps(h, start_id, sample_size)), axis=1)


class Seq2seq:
    """The baseline encoder-decoder.

    ``forward(xs, ts)`` returns the mean loss of predicting ts[:, 1:] from ts[:, :-1] (teacher
    forcing); ``backward()`` fills ``grads``; ``generate(xs, start_id, n)`` decodes greedily.
    ``params``, ``grads`` and ``param_names`` list the encoder's and then the decoder's.

    Subclasses swap the parts through ``encoder_class`` and ``decoder_class``.
    """

    encoder_class = Encoder
    decoder_class = Decoder

    def __init__(self, vocab_size, wordvec_size, hidden_size, seed=0, dtype=np.float32):
        """V = vocab_size, D = wordvec_size, H = hidden_size: whole numbers >= 1; dtype: a
        floating-point type (float32 trains, float64 is for gradient checks)."""
        for name, size in (("vocab_size", vocab_size), ("wordvec_size", wordvec_size),
                           ("hidden_size", hidden_size)):
            check_whole_number(name, size, 1)
        check_float_dtype(dtype)
        init = Initializer(np.random.default_rng(seed), dtype)
        args = (vocab_size, wordvec_size, hidden_size, init)
        self.config = dict(vocab_size=vocab_size, wordvec_size=wordvec_size,
                           hidden_size=hidden_size)
        self.encoder = self.encoder_class(*args)
        self.decoder = self.decoder_class(*args)
        self.softmax = TimeSoftmaxWithLoss()
        self.params, self.grads, self.param_names = collect_params(
            encoder=self.encoder, decoder=self.decoder)

    def forward(self, xs, ts):
        V = self.config["vocab_size"]  # ids are checked once here, not in every layer
        xs, ts = check_ids(xs, V, "xs"), check_ids(ts, V, "ts", allowed=self.softmax.ignore_label)
        decoder_xs, decoder_ts = ts[:, :-1], ts[:, 1:]
        h = self.encoder.forward(xs)
        score = self.decoder.forward(decoder_xs, h)
        return self.softmax.forward(score, decoder_ts)

    def backward(self, dout=1):
        dscore = self.softmax.backward(dout)
        dh = self.decoder.backward(dscore)
        self.encoder.backward(dh)

    def generate(self, xs, start_id, sample_size):
        """xs (N, T) -> ids (N, sample_size), the model's own greedy answer."""
        xs = check_ids(xs, self.config["vocab_size"], "xs")
        check_ids(start_id, self.config["vocab_size"], "start_id", ndim=np.ndim(start_id))
        return self.decoder.generate(self.encoder.forward(xs), start_id, sample_size)
