"""Asking a trained model one question: ``translate(model, vocab, "Aug 8, 2001")``."""
from .train import predict


def translate(model, vocab, question):
    """Returns the model's answer to question and its attention matrix.

    The matrix has one row per answer character and one column per question character, in
    the order the question is written (a reversed input is turned back), shape
    (answer_width, question_width); it is None for models without attention.

    Raises ValueError for characters outside the vocabulary (naming them) and for a question
    wider than the model's input width (stating the limit).
    """
    x = vocab.encode_question(question)[None, :]
    ids, weights = predict(model, x, vocab.start_id, vocab.answer_width)
    answer = vocab.decode(ids[0])
    if weights is None:
        return answer, None
    attention = weights[0]
    return answer, attention[:, ::-1] if vocab.reversed else attention
