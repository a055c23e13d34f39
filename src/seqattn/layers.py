"""The layers of chapters 5-7 of *Deep Learning from Scratch 2*, one small class each.

Every layer follows the book's protocol:

- ``params``: a list of parameter arrays; ``grads``: a list of arrays of the same shapes;
- ``forward(...)`` computes the output and caches what ``backward`` needs;
- ``backward(dout)`` returns the gradient of the input and writes the parameter gradients
  *in place* (``self.grads[0][...] = dW``), so an optimizer holding references to ``grads``
  always sees the new values;
- ``param_names`` names the entries of ``params`` (for checkpoints and gradient-check tables).

Shape letters as in the book: N batch size, T time steps, D word-vector size, H hidden size,
V vocabulary size.

The ``Time*`` layers process a whole sequence at once. Where the book loops over time steps
(``TimeEmbedding``, ``TimeAffine``, the input projection of ``TimeLSTM``), these use one array
operation over all steps; only the LSTM's recurrence ``h_t = f(h_{t-1})`` is a Python loop.
"""
import numpy as np

from .functions import log_softmax, sigmoid_inplace, softmax


class Embedding:
    """Looks up word vectors: idx (N,) -> out (N, D). Parameter W: (V, D)."""

    param_names = ("W",)

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.idx = None

    def forward(self, idx):
        (W,) = self.params
        self.idx = idx
        return W[idx]

    def backward(self, dout):
        dW = self.grads[0]
        dW[...] = 0
        np.add.at(dW, self.idx, dout)  # a word that occurs twice collects both gradients
        return None


class Affine:
    """Fully connected layer: x (N, D) -> x @ W + b (N, H). Parameters W: (D, H), b: (H,)."""

    param_names = ("W", "b")

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        self.x = x
        return x @ W + b

    def backward(self, dout):
        W, _ = self.params
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = dout.sum(axis=0)
        return dout @ W.T


class Softmax:
    """Softmax over the last axis: x (N, V) -> y (N, V)."""

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.y = None

    def forward(self, x):
        self.y = softmax(x)
        return self.y

    def backward(self, dout):
        y = self.y
        return y * (dout - (y * dout).sum(axis=-1, keepdims=True))


class SoftmaxWithLoss:
    """Softmax followed by the mean cross-entropy: scores x (N, V), labels t (N,) -> a scalar loss.

    The loss is computed from log-softmax, so that its exact derivative is ``(y - onehot(t)) / N``.
    """

    param_names = ()

    def __init__(self):
        self.params, self.grads = [], []
        self.y = None
        self.t = None

    def forward(self, x, t):
        logp = log_softmax(x)
        self.y, self.t = np.exp(logp), t
        return -logp[np.arange(len(t)), t].mean()

    def backward(self, dout=1):
        dx = self.y.copy()
        dx[np.arange(len(self.t)), self.t] -= 1
        return dx * (dout / len(self.t))


def lstm_activate(A):
    """Turns the LSTM's pre-activations A (N, 4H) into its gates, in place, and returns A.

    The four blocks of width H follow the book's order: f (forget, sigmoid), g (new memory,
    tanh), i (input, sigmoid), o (output, sigmoid).
    """
    H = A.shape[-1] // 4
    sigmoid_inplace(A[..., :H])
    np.tanh(A[..., H:2 * H], out=A[..., H:2 * H])
    sigmoid_inplace(A[..., 2 * H:])
    return A


def lstm_gate_grads(gates, c_prev, tanh_c, dh_next, dc_next, dA):
    """One step of the LSTM's backward pass, shared by ``LSTM`` and ``TimeLSTM``.

    gates (N, 4H): f, g, i, o after activation; c_prev, tanh_c = tanh(c_next): (N, H);
    dh_next, dc_next: (N, H), the gradients arriving at h_next and c_next.
    Writes the gradient of the pre-activations into dA (N, 4H) and returns dc_prev (N, H).

    The formulas, with s the total gradient reaching c_next:
        s  = dc_next + dh_next * o * (1 - tanh_c^2)
        df = s * c_prev * f (1 - f)         dg = s * i * (1 - g^2)
        di = s * g * i (1 - i)              do = dh_next * tanh_c * o (1 - o)
        dc_prev = s * f
    Every line below computes one factor in place: TimeLSTM runs this once per time step,
    and temporary arrays would cost more than the arithmetic.
    """
    H = c_prev.shape[1]
    f, g, i, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    df, dg, di, do = dA[:, :H], dA[:, H:2 * H], dA[:, 2 * H:3 * H], dA[:, 3 * H:]
    s = np.multiply(tanh_c, tanh_c)
    np.subtract(1, s, out=s)
    s *= o
    s *= dh_next
    s += dc_next  # s = dc_next + dh_next * o * (1 - tanh_c^2)
    factor = np.subtract(1, o)
    factor *= o
    np.multiply(dh_next, tanh_c, out=do)
    do *= factor  # do = dh_next * tanh_c * o (1 - o)
    np.subtract(1, f, out=factor)
    factor *= f
    np.multiply(s, c_prev, out=df)
    df *= factor  # df = s * c_prev * f (1 - f)
    np.subtract(1, i, out=factor)
    factor *= i
    np.multiply(s, g, out=di)
    di *= factor  # di = s * g * i (1 - i)
    np.multiply(g, g, out=factor)
    np.subtract(1, factor, out=factor)
    np.multiply(s, i, out=dg)
    dg *= factor  # dg = s * i * (1 - g^2)
    s *= f
    return s  # dc_prev = s * f


class LSTM:
    """One LSTM step: x (N, D), h_prev (N, H), c_prev (N, H) -> h_next (N, H), c_next (N, H).

    Parameters Wx: (D, 4H), Wh: (H, 4H), b: (4H,), the four gates side by side (f, g, i, o).
    """

    param_names = ("Wx", "Wh", "b")

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        Wx, Wh, b = self.params
        H = h_prev.shape[1]
        gates = lstm_activate(x @ Wx + h_prev @ Wh + b)
        f, g, i, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        c_next = f * c_prev + g * i
        tanh_c = np.tanh(c_next)
        h_next = o * tanh_c
        self.cache = (x, h_prev, c_prev, gates, tanh_c)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        Wx, Wh, _ = self.params
        x, h_prev, c_prev, gates, tanh_c = self.cache
        dA = np.empty_like(gates)
        dc_prev = lstm_gate_grads(gates, c_prev, tanh_c, dh_next, dc_next, dA)
        self.grads[0][...] = x.T @ dA
        self.grads[1][...] = h_prev.T @ dA
        self.grads[2][...] = dA.sum(axis=0)
        return dA @ Wx.T, dA @ Wh.T, dc_prev


def check_ids(ids, vocab_size, name="xs", ndim=2, allowed=None):
    """Raises unless ids is an integer array of ``ndim`` dimensions whose values all lie in
    [0, vocab_size) (or equal ``allowed``, e.g. a loss's ignore label); returns it as an array.

    Models call it once per ``forward`` or ``generate``, on the whole (N, T) array: an id
    outside the range would otherwise fail deep inside a layer, or worse, a negative one would
    silently pick a row from the end of the embedding matrix. Two reductions over an (N, T)
    integer array cost microseconds, nothing next to one LSTM step.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer ids, not {ids.dtype} values")
    if ids.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, not shape {ids.shape}")
    if ids.size:
        low, high = ids.min(), ids.max()
        if high >= vocab_size:
            bad = high
        elif low < 0:
            negative = ids[ids < 0]
            bad = negative[negative != allowed][:1]  # the first that is not the allowed value
            bad = bad[0] if bad.size else None
        else:
            bad = None
        if bad is not None:
            raise ValueError(f"{name} holds the id {bad}, outside the vocabulary's range "
                             f"[0, {vocab_size})")
    return ids


class TimeEmbedding:
    """Embedding of a whole sequence: xs (N, T) word ids -> (N, T, D). Parameter W: (V, D)."""

    param_names = ("W",)

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.xs = None

    def forward(self, xs):
        (W,) = self.params
        self.xs = xs
        return W[xs]

    def backward(self, dout):
        dW = self.grads[0]
        dW[...] = 0
        np.add.at(dW, self.xs.ravel(), dout.reshape(-1, dW.shape[1]))
        return None


class TimeAffine:
    """Affine on every time step at once: xs (N, T, D) -> (N, T, H). W: (D, H), b: (H,)."""

    param_names = ("W", "b")

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.xs = None

    def forward(self, xs):
        W, b = self.params
        self.xs = xs
        return xs @ W + b

    def backward(self, dout):
        W, _ = self.params
        D, H = W.shape
        self.grads[0][...] = self.xs.reshape(-1, D).T @ dout.reshape(-1, H)
        self.grads[1][...] = dout.reshape(-1, H).sum(axis=0)
        return dout @ W.T


class TimeLSTM:
    """An LSTM run over a sequence: xs (N, T, D) -> hs (N, T, H).

    Parameters Wx: (D, 4H), Wh: (H, 4H), b: (4H,) (gates f, g, i, o as in ``LSTM``).

    ``stateful=True`` carries the last (h, c) over to the next ``forward`` call (the decoder
    needs it: ``set_state(h)`` hands it the encoder's summary, and ``generate`` feeds one step at
    a time). ``stateful=False`` starts every sequence from zeros. After ``backward``,
    ``self.dh`` (N, H) holds the gradient of the initial hidden state (stateful only).

    The input projection ``xs @ Wx + b`` of all T steps is one matrix product; only
    ``h_{t-1} @ Wh`` has to wait for the previous step. Internally the arrays are time-major,
    (T, N, ...), so that each step reads and writes contiguous memory.
    """

    param_names = ("Wx", "Wh", "b")

    def __init__(self, Wx, Wh, b, stateful=False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.stateful = stateful
        self.h, self.c = None, None
        self.dh = None
        self.cache = None

    def set_state(self, h, c=None):
        """Starts the next sequence from hidden state h (N, H) and memory cell c (zeros if None)."""
        self.h, self.c = h, c

    def reset_state(self):
        self.h, self.c = None, None

    def forward(self, xs):
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        H = Wh.shape[0]
        dtype = Wh.dtype

        xs_tm = np.ascontiguousarray(xs.transpose(1, 0, 2))  # (T, N, D)
        gates = (xs_tm.reshape(T * N, D) @ Wx).reshape(T, N, 4 * H)  # all input projections
        gates += b  # in place: `@ Wx + b` would allocate a second array of this size
        hs = np.empty((T + 1, N, H), dtype=dtype)  # hs[0] is the initial state, hs[t+1] is h_t
        cs = np.empty((T + 1, N, H), dtype=dtype)
        tanh_cs = np.empty((T, N, H), dtype=dtype)
        fresh = not self.stateful or self.h is None
        hs[0] = 0 if fresh else self.h
        cs[0] = 0 if (fresh or self.c is None) else self.c

        hWh = np.empty((N, 4 * H), dtype=dtype)  # scratch arrays, reused at every step
        gi = np.empty((N, H), dtype=dtype)
        for t in range(T):
            A = gates[t]
            np.matmul(hs[t], Wh, out=hWh)  # the only product that waits for the previous step
            A += hWh
            lstm_activate(A)  # A now holds the gates f, g, i, o
            f, g, i, o = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
            np.multiply(f, cs[t], out=cs[t + 1])
            cs[t + 1] += np.multiply(g, i, out=gi)  # c_t = f * c_{t-1} + g * i
            np.tanh(cs[t + 1], out=tanh_cs[t])
            np.multiply(o, tanh_cs[t], out=hs[t + 1])  # h_t = o * tanh(c_t)

        self.h, self.c = hs[T], cs[T]
        self.cache = (xs_tm, gates, hs, cs, tanh_cs)
        return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def step(self, A):
        """One step with no time axis, for greedy decoding after ``set_state``: A (N, 4H)
        holds this step's input projection plus the bias, x_t Wx + b, and is overwritten.
        Advances the state (h, c) and returns h (N, H). Keeps nothing for ``backward``:
        decoding needs no gradients, and skips the time-major arrays that ``forward`` builds.
        """
        _, Wh, _ = self.params
        H = Wh.shape[0]
        A += self.h @ Wh
        lstm_activate(A)  # A now holds the gates f, g, i, o
        f, g, i, o = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
        c = g * i
        if self.c is not None:
            c += f * self.c  # c_t = f * c_{t-1} + g * i
        self.h, self.c = o * np.tanh(c), c  # h_t = o * tanh(c_t)
        return self.h

    def backward(self, dhs):
        Wx, Wh, _ = self.params
        xs_tm, gates, hs, cs, tanh_cs = self.cache
        T, N, D = xs_tm.shape
        H = Wh.shape[0]

        dhs_tm = dhs.transpose(1, 0, 2)
        dA = np.empty_like(gates)  # (T, N, 4H): gradients of all pre-activations
        dh = np.zeros((N, H), dtype=Wh.dtype)  # from the step after: h_t fed step t + 1
        dc = np.zeros((N, H), dtype=Wh.dtype)
        dh_total = np.empty((N, H), dtype=Wh.dtype)
        for t in reversed(range(T)):
            np.add(dhs_tm[t], dh, out=dh_total)  # h_t went up to the next layer and on in time
            dc = lstm_gate_grads(gates[t], cs[t], tanh_cs[t], dh_total, dc, dA[t])
            if t > 0 or self.stateful:  # a stateless LSTM's initial state needs no gradient
                np.matmul(dA[t], Wh.T, out=dh)

        dA2 = dA.reshape(T * N, 4 * H)
        # Each parameter's gradient sums over all steps: one matrix product each.
        self.grads[0][...] = xs_tm.reshape(T * N, D).T @ dA2
        self.grads[1][...] = hs[:T].reshape(T * N, H).T @ dA2
        self.grads[2][...] = dA2.sum(axis=0)
        self.dh = dh if self.stateful else None
        return (dA2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)


class TimeSoftmaxWithLoss:
    """Softmax cross-entropy averaged over every step: xs (N, T, V), ts (N, T) -> scalar loss.

    Labels equal to ``ignore_label`` (-1, for padding) count neither in the loss nor in the mean.
    """

    param_names = ()

    def __init__(self, ignore_label=-1):
        self.params, self.grads = [], []
        self.ignore_label = ignore_label
        self.cache = None

    def forward(self, xs, ts):
        N, T, V = xs.shape
        logp = log_softmax(xs.reshape(N * T, V))
        ts = ts.reshape(N * T)
        mask = ts != self.ignore_label
        picked = logp[np.arange(N * T), np.where(mask, ts, 0)]
        count = max(mask.sum(), 1)
        self.cache = (np.exp(logp), ts, mask, count, xs.shape)
        return -(picked * mask).sum() / count

    def backward(self, dout=1):
        y, ts, mask, count, shape = self.cache
        dx = y.copy()
        dx[np.arange(len(ts)), np.where(mask, ts, 0)] -= 1
        dx *= (mask * (dout / count))[:, None]
        return dx.reshape(shape)
