"""Training and evaluation: a ``Trainer`` for mini-batch training, batched greedy evaluation,
and the book's printout of sample answers.

x (N, T) question ids; t (N, T_out + 1) answer ids, t[:, 0] the start symbol.
"""
import copy
import math
import threading

import numpy as np
from tqdm.auto import tqdm  # a widget in notebooks, a text bar in a terminal

from .checkpoint import check_fits
from .checks import check_whole_number
from .optim import check_max_norm, clip_grads
from . import speed
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
    ``grad_norm_history`` the global norm of the gradients before clipping. ``epochs_done``
    counts the epochs of all ``fit`` calls, and ``accuracy_history`` holds the test accuracy
    after each epoch that ``fit`` evaluated (``eval_data``), as (epoch, accuracy) pairs. The
    shuffling comes from its own generator, seeded once: two trainers with the same seed, model
    and data produce identical histories, and successive ``fit`` calls see fresh orders.
    """

    def __init__(self, model, optimizer, seed=0):
        self.model, self.optimizer = model, optimizer
        self.rng = np.random.default_rng(seed)
        self.loss_history, self.grad_norm_history = [], []
        self.epochs_done, self.accuracy_history = 0, []

    def fit(self, x, t, epochs=1, batch_size=32, max_grad=None, progress=True, threads=None,
            eval_data=None, on_epoch=None):
        """Runs ``epochs`` passes over (x, t); an incomplete last batch is left out, as in the
        book. max_grad: clip the gradients' global norm to it (> 0; None: no clipping).
        threads: BLAS threads while training, and the cores evaluating uses (``predict``);
        default ``speed.BLAS_THREADS``.

        After each epoch, as the book's trainer does:

        - eval_data: (x_test, t_test): the exact-match accuracy of greedy decoding on it
          (``evaluate``) is appended to ``accuracy_history`` as (epoch, accuracy), and shown
          in the progress bar. Checked against the model before the first epoch.
        - on_epoch: a function called as ``on_epoch(trainer, epoch)``, epoch counted over all
          ``fit`` calls from 1 (``trainer.accuracy_history[-1]`` is this epoch's accuracy when
          eval_data is given): to save a checkpoint, print samples or stop early (raise).

        Neither changes the training: the same seed trains the same parameters with or
        without them.

        Raises ``TrainingDiverged`` when the loss or the gradients' norm is not finite (nan or
        inf), before that iteration's update: the parameters stay those of the iteration before.
        """
        check_whole_number("epochs", epochs, 0)
        check_whole_number("batch_size", batch_size, 1)
        check_max_norm(max_grad, "max_grad")
        if eval_data is not None:
            if not (isinstance(eval_data, (tuple, list)) and len(eval_data) == 2):
                raise ValueError("eval_data must be a pair (x_test, t_test) of question and "
                                 f"answer ids, not {type(eval_data).__name__}")
            check_fits(self.model, x=eval_data[0], t=eval_data[1])
            _check_answers(eval_data[0], eval_data[1])
        if on_epoch is not None and not callable(on_epoch):
            raise TypeError(f"on_epoch must be a function (trainer, epoch), not "
                            f"{type(on_epoch).__name__}")
        with blas_threads(threads):
            self._fit(x, t, epochs, batch_size, max_grad, progress, eval_data, on_epoch, threads)
        return self

    def _fit(self, x, t, epochs, batch_size, max_grad, progress, eval_data=None, on_epoch=None,
             threads=None):
        if len(x) != len(t):
            raise ValueError(f"x has {len(x)} samples but t has {len(t)}")
        iters = len(x) // batch_size
        if iters == 0:
            raise ValueError(f"batch_size {batch_size} is larger than the {len(x)} samples")
        model = self.model
        for epoch in range(epochs):
            order = self.rng.permutation(len(x))
            bar = tqdm(total=iters, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                       mininterval=0.5)
            for it in range(iters):
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
                bar.update()
            self.epochs_done += 1
            if eval_data is not None:
                accuracy = float(correct_answers(model, *eval_data, threads=threads).mean())
                self.accuracy_history.append((self.epochs_done, accuracy))
                bar.set_postfix(loss=f"{np.mean(self.loss_history[-iters:]):.3f}",
                                accuracy=f"{accuracy:.1%}")
            bar.close()
            if on_epoch is not None:
                on_epoch(self, self.epochs_done)

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
    of that decoding (None for the others).

    threads: the cores to use (default ``speed.BLAS_THREADS``). With one, the batches are
    decoded in turn. With n > 1 and more than one batch, n batches are decoded side by side,
    each by its own copy of the model with one BLAS thread: n BLAS threads would spread only
    the matrix products over the cores, while NumPy computes the elementwise work (tanh, exp)
    on one core. ``make bench`` times both ways.
    """
    _check_questions(x, "predict")
    check_whole_number("batch_size", batch_size, 1)
    check_whole_number("length", length, 1)
    if threads is not None:
        check_whole_number("threads", threads, 1)
    cores = speed.BLAS_THREADS if threads is None else threads
    starts = range(0, len(x), batch_size)

    def decode(net, start):
        sid = start_id if np.ndim(start_id) == 0 else start_id[start:start + batch_size]
        out = net.generate(x[start:start + batch_size], sid, length)
        return out if isinstance(out, tuple) else (out, None)

    if cores == 1 or len(starts) == 1:
        with blas_threads(cores):
            decoded = [decode(model, start) for start in starts]
    else:
        workers = min(cores, len(starts))
        nets = [model] + [copy.deepcopy(model) for _ in range(workers - 1)]  # none shared

        done, errors = [None] * workers, []

        def work(k):  # worker k decodes batches k, k + workers, k + 2 workers, ...
            try:
                done[k] = [decode(nets[k], start) for start in starts[k::workers]]
            except BaseException as error:  # raised again below, in the caller's thread
                errors.append(error)

        with blas_threads(1):
            helpers = [threading.Thread(target=work, args=(k,)) for k in range(1, workers)]
            for helper in helpers:
                helper.start()
            work(0)  # this thread is worker 0
            for helper in helpers:
                helper.join()
        if errors:
            raise errors[0]
        decoded = [done[i % workers][i // workers] for i in range(len(starts))]
    ids = np.concatenate([out for out, _ in decoded])
    if decoded[0][1] is None:
        return ids, None
    return ids, np.concatenate([w for _, w in decoded])


def evaluate(model, x, t, batch_size=256, threads=None):
    """Exact-match accuracy: the share of questions whose whole answer is right."""
    check_fits(model, x=x, t=t)  # ids, widths and question order fit the model's vocabulary
    return float(correct_answers(model, x, t, batch_size, threads).mean())


def _check_answers(x, t):
    _check_questions(x, "evaluate")
    if np.ndim(t) != 2 or len(t) != len(x) or np.shape(t)[1] < 2:
        raise ValueError(f"t must be an (N, A + 1) array of answer ids with N = {len(x)} "
                         f"questions and A >= 1, not of shape {np.shape(t)}")


def correct_answers(model, x, t, batch_size=256, threads=None):
    """A boolean per question (N,): did greedy decoding reproduce t[:, 1:] exactly?"""
    _check_answers(x, t)
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
