"""Training and evaluation: a ``Trainer`` for mini-batch training, batched greedy evaluation,
and the book's printout of sample answers.

x (N, T) question ids; t (N, T_out + 1) answer ids, t[:, 0] the start symbol.
"""
import math

import numpy as np
from tqdm.auto import tqdm  # a widget in notebooks, a text bar in a terminal

from .checkpoint import check_fits
from .checks import check_whole_number
from .optim import check_max_norm, clip_grads
from .speed import blas_threads


def _check_questions(x, what):
    """Raises unless x holds at least one question (a 2-D array of ids, N >= 1)."""
    if np.ndim(x) != 2:
        raise ValueError(f"x must be an (N, T) array of question ids, not of shape "
                         f"{np.shape(x)}")
    if len(x) == 0:
        raise ValueError(f"x holds no questions: nothing to {what}")


class TrainingDiverged(FloatingPointError):
    """The loss or the gradients stopped being finite numbers during ``Trainer.fit``."""


class Trainer:
    """Trains a model with shuffled mini-batches.

    ``loss_history`` collects the loss of every iteration, over all ``fit`` calls, and
    ``grad_norm_history`` the global norm of the gradients before clipping. The shuffling
    comes from its own generator, seeded once: two trainers with the same seed, model
    and data produce identical histories, and successive ``fit`` calls see fresh orders.
    """

    def __init__(self, model, optimizer, seed=0):
        self.model, self.optimizer = model, optimizer
        self.rng = np.random.default_rng(seed)
        self.loss_history, self.grad_norm_history = [], []

    def fit(self, x, t, epochs=1, batch_size=32, max_grad=None, progress=True, threads=None):
        """Runs ``epochs`` passes over (x, t); an incomplete last batch is left out, as in the
        book. max_grad: clip the gradients' global norm to it (> 0; None: no clipping).
        threads: BLAS threads while training (default ``speed.BLAS_THREADS``).

        Raises ``TrainingDiverged`` when the loss or the gradients' norm is not finite (nan or
        inf), before that iteration's update: the parameters stay those of the iteration before.
        """
        check_whole_number("epochs", epochs, 0)
        check_whole_number("batch_size", batch_size, 1)
        check_max_norm(max_grad, "max_grad")
        with blas_threads(threads):
            self._fit(x, t, epochs, batch_size, max_grad, progress)
        return self

    def _fit(self, x, t, epochs, batch_size, max_grad, progress):
        if len(x) != len(t):
            raise ValueError(f"x has {len(x)} samples but t has {len(t)}")
        iters = len(x) // batch_size
        if iters == 0:
            raise ValueError(f"batch_size {batch_size} is larger than the {len(x)} samples")
        model = self.model
        for epoch in range(epochs):
            order = self.rng.permutation(len(x))
            bar = tqdm(range(iters), desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                       mininterval=0.5)
            for it in bar:
                batch = order[it * batch_size:(it + 1) * batch_size]
                loss = float(model.forward(x[batch], t[batch]))
                model.backward()
                # the norm is measured either way; with max_grad=None nothing is clipped
                norm = clip_grads(model.grads, max_grad)
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    self._diverged(loss, norm, epoch, epochs, it, iters)
                self.optimizer.update(model.params, model.grads)
                self.loss_history.append(loss)
                self.grad_norm_history.append(norm)
                if it % 20 == 0:
                    bar.set_postfix(loss=f"{np.mean(self.loss_history[-20:]):.3f}", refresh=False)

    def _diverged(self, loss, norm, epoch, epochs, it, iters):
        what = f"the loss is {loss}" if not math.isfinite(loss) else \
            f"the gradients' norm is {norm}"
        raise TrainingDiverged(
            f"{what} at iteration {it + 1} of {iters} in epoch {epoch + 1} of {epochs} "
            f"({len(self.loss_history) + 1} iterations in all): training stopped before this "
            "update, so the parameters are still finite. Lower the learning rate or clip the "
            "gradients (max_grad).")


def predict(model, x, start_id, length, batch_size=256, threads=None):
    """The model's greedy answers to every question in x, decoded a batch at a time.

    (A batch of 256 keeps the LSTM's arrays small enough for the CPU's caches: it measured
    faster than 1,000 or all 5,000 at once, and needs a quarter of the memory.)

    Returns ids (N, length) and, for attention models, the attention weights (N, length, T)
    of that decoding (None for the others). threads: BLAS threads (default
    ``speed.BLAS_THREADS``).
    """
    _check_questions(x, "predict")
    check_whole_number("batch_size", batch_size, 1)
    check_whole_number("length", length, 1)
    ids, weights = [], []
    with blas_threads(threads):
        for start in range(0, len(x), batch_size):
            sid = start_id if np.ndim(start_id) == 0 else start_id[start:start + batch_size]
            out = model.generate(x[start:start + batch_size], sid, length)
            if isinstance(out, tuple):
                out, w = out
                weights.append(w)
            ids.append(out)
    return np.concatenate(ids), (np.concatenate(weights) if weights else None)


def evaluate(model, x, t, batch_size=256, threads=None):
    """Exact-match accuracy: the share of questions whose whole answer is right."""
    check_fits(model, x=x, t=t)  # ids, widths and question order fit the model's vocabulary
    return float(correct_answers(model, x, t, batch_size, threads).mean())


def correct_answers(model, x, t, batch_size=256, threads=None):
    """A boolean per question (N,): did greedy decoding reproduce t[:, 1:] exactly?"""
    _check_questions(x, "evaluate")
    if np.ndim(t) != 2 or len(t) != len(x) or np.shape(t)[1] < 2:
        raise ValueError(f"t must be an (N, A + 1) array of answer ids with N = {len(x)} "
                         f"questions and A >= 1, not of shape {np.shape(t)}")
    ids, _ = predict(model, x, t[:, 0], t.shape[1] - 1, batch_size, threads)
    return (ids == t[:, 1:]).all(axis=1)


def show_samples(model, x, t, vocab, k=10):
    """Prints the first k questions with the truth, the model's answer and a mark, as the
    book's ``eval_seq2seq`` does, and returns the rows (question, truth, guess, correct)."""
    ids, _ = predict(model, x[:k], t[:k, 0], t.shape[1] - 1)
    rows = []
    for xi, ti, guess_ids in zip(x[:k], t[:k], ids):
        truth, guess = vocab.decode(ti[1:]), vocab.decode(guess_ids)
        rows.append((vocab.decode_question(xi), truth, guess, truth == guess))
    width = max([len("question")] + [len(q) for q, *_ in rows])
    print(f"{'question':<{width}}  {'truth':<10}  {'answer':<10}")
    for question, truth, guess, correct in rows:
        print(f"{question:<{width}}  {truth:<10}  {guess:<10}  {'✓' if correct else '✗ wrong'}")
    return rows
