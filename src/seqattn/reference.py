"""The book's way of doing things, kept for teaching and as the benchmark's reference.

The models in this package compute exactly what the book's code computes, but faster:

- ``TimeLSTM`` projects the inputs of all time steps in one matrix product; the book's
  ``TimeLSTM`` (here ``StepwiseTimeLSTM``) runs one ``LSTM`` layer per step, each computing
  ``x @ Wx + h @ Wh + b`` and its own small gradient products;
- ``BatchedTimeAttention`` handles all decoder steps with batched matrix products; the book's
  ``TimeAttention`` loops over them;
- ``evaluate`` decodes a whole batch of questions at once; the book decodes one at a time.

``book_style(model)`` swaps the first two into a model; ``evaluate_one_by_one`` is the third.
The tests check that the results are the same; ``make bench`` measures the difference.
"""
import types

import numpy as np

from .attention import TimeAttention
from .layers import LSTM, TimeLSTM
from .seq2seq import time_axis_step
from .train import evaluate


class StepwiseTimeLSTM(TimeLSTM):
    """The book's TimeLSTM: a Python list of one-step ``LSTM`` layers.

    Same parameters, state handling and results as ``layers.TimeLSTM`` (whose constructor,
    ``set_state`` and ``reset_state`` it inherits): xs (N, T, D) -> hs (N, T, H).
    """

    def forward(self, xs):
        Wx, Wh, b = self.params
        N, T, _ = xs.shape
        H = Wh.shape[0]
        if not self.stateful or self.h is None:
            self.h = np.zeros((N, H), dtype=Wh.dtype)
        if not self.stateful or self.c is None:
            self.c = np.zeros((N, H), dtype=Wh.dtype)
        hs = np.empty((N, T, H), dtype=Wh.dtype)
        self.layers = []
        for t in range(T):
            layer = LSTM(*self.params)
            self.h, self.c = layer.forward(xs[:, t, :], self.h, self.c)
            hs[:, t, :] = self.h
            self.layers.append(layer)
        return hs

    def backward(self, dhs):
        Wx, _, _ = self.params
        N, T, _ = dhs.shape
        dxs = np.empty((N, T, Wx.shape[0]), dtype=dhs.dtype)
        dh, dc = 0, 0
        grads = [0, 0, 0]
        for t in reversed(range(T)):
            layer = self.layers[t]
            dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)
            dxs[:, t, :] = dx
            for i, grad in enumerate(layer.grads):
                grads[i] += grad
        for i, grad in enumerate(grads):
            self.grads[i][...] = grad
        self.dh = dh
        return dxs


def _stepwise(lstm):
    """A StepwiseTimeLSTM on the same parameter and gradient arrays as lstm."""
    stepwise = StepwiseTimeLSTM(*lstm.params, stateful=lstm.stateful)
    stepwise.grads = lstm.grads  # the optimizer and model.grads keep working unchanged
    return stepwise


def book_style(model, lstm=True, attention=True):
    """Turns a model's layers, in place, into the book's slower versions and returns the model:
    stepwise TimeLSTMs (``lstm``), and the looping TimeAttention for attention models
    (``attention``). The parameter and gradient arrays stay the same objects."""
    if lstm:
        model.encoder.lstm = _stepwise(model.encoder.lstm)
        model.decoder.lstm = _stepwise(model.decoder.lstm)
    if attention and hasattr(model.decoder, "attention"):
        model.decoder.attention = TimeAttention()
    return model


def evaluate_one_by_one(model, x, t, threads=None):
    """Exact-match accuracy, decoding one question at a time as the book's ``eval_seq2seq``
    does: ``evaluate`` with batches of one."""
    return evaluate(model, x, t, batch_size=1, threads=threads)


def time_axis_decoding(model):
    """Makes model decode as every decoder did before ``decoding_step``: each greedy step runs
    the time-step ``_step`` on one character (an Embedding, a TimeLSTM of T = 1, ...). For
    ``make bench``, which times it beside the single-step path. Returns the model."""
    # a method bound to this decoder: a copy of the model (predict decodes batches side by side
    # on copies) binds it to the copy's decoder, where a closure would keep this one
    model.decoder.decoding_step = types.MethodType(time_axis_step, model.decoder)
    return model
