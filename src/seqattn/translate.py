"""Asking a trained model one question: ``translate(model, vocab, "Aug 8, 2001")``.

The model always writes A characters, whatever it is asked: ``hello`` gets a date too. The
probability the model gave each character it wrote tells a confident answer from a guess.
"""
from collections import namedtuple

import numpy as np

from .checkpoint import check_fits
from .functions import softmax
from .train import predict

Translation = namedtuple("Translation", ["answer", "attention", "probabilities"])
Translation.__doc__ = """The model's answer to one question.

answer: the A characters it wrote. attention: (A, T), row k the weights over the question's
characters (as written) while it wrote character k; None for models without attention.
probabilities: (A,), the softmax probability of each character it wrote, at its step."""


def translate(model, vocab, question):
    """Returns the model's answer to question as a Translation (answer, attention,
    probabilities).

    The attention matrix has one row per answer character and one column per question
    character, in the order the question is written (a reversed input is turned back), shape
    (A, T); it is None for models without attention.

    Raises ValueError for a vocabulary that does not fit the model (see ``check_fits``), and
    (from ``vocab.encode_question``) for an empty or blank question, for characters outside
    the vocabulary (naming them) and for a question wider than the model's input width.
    """
    check_fits(model, vocab)
    x = vocab.encode_question(question)[None, :]
    ids, weights = predict(model, x, vocab.start_id, vocab.answer_width)
    answer = vocab.decode(ids[0])
    probabilities = answer_probabilities(model, x, ids, vocab.start_id)[0]
    if weights is None:
        return Translation(answer, None, probabilities)
    attention = weights[0]
    return Translation(answer, attention[:, ::-1] if vocab.reversed else attention,
                       probabilities)


def answer_probabilities(model, x, ids, start_id):
    """The probability the model gave each character of its answers: x (N, T) questions,
    ids (N, A) the answers it wrote -> (N, A) float64.

    Decoding fed each character back as the next step's input, so one teacher-forced pass
    over the answer (start character, then ids[:, :-1]) reproduces every step's scores."""
    inputs = np.concatenate([np.full((len(ids), 1), start_id), ids[:, :-1]], axis=1)
    scores = model.decoder.forward(inputs, model.encoder.forward(x))  # (N, A, V)
    p = softmax(scores.astype(np.float64))
    return np.take_along_axis(p, ids[:, :, None], axis=2)[:, :, 0]
