"""Reading attention maps on the dates: which part of the question each answer row should look at.

An answer is ``YYYY-MM-DD``. Its rows 0-3 write the year, 5-6 the month, 8-9 the day; the dashes
(rows 4 and 7) need nothing from the question, and their "own part" is the padding.
``question_spans`` finds the month, the day and the year in a question of the data set, and
``own_share`` sums each row's weight on its own part. Chapters 8 and 14 read their maps with
them.
"""
import numpy as np

# the part of the question each answer row writes; the dashes' is the padding
ANSWER_PARTS = ("year",) * 4 + ("padding",) + ("month",) * 2 + ("padding",) + ("day",) * 2


def question_spans(question):
    """The columns of the month, day and year in a question of the data set, as slices:
    ``{"month": slice, "day": slice, "year": slice}`` (the weekday of the full style is none
    of them)."""
    question = question.rstrip()
    if "/" in question:  # M/D/YY
        parts = question.split("/")
    else:  # [weekday,] month day, year
        parts = question.replace(",", "").split()[-3:]
    if len(parts) != 3:
        raise ValueError(f"{question!r} is not a question of the date data set")
    columns, start = {}, 0
    for name, part in zip(("month", "day", "year"), parts):
        start = question.index(part, start)
        columns[name] = slice(start, start + len(part))
        start += len(part)
    return columns


def own_share(attention, question, T):
    """attention (A, T) of one question, A = len(ANSWER_PARTS) rows -> (A,): each row's total
    weight on its own part of the question (the padding: columns len(question) to T)."""
    columns = question_spans(question) | {"padding": slice(len(question.rstrip()), T)}
    return np.array([row[columns[part]].sum() for row, part in zip(attention, ANSWER_PARTS)])


def column_parts(question, T):
    """The part of the question each of its T columns holds: an array of T strings, "month",
    "day", "year", "other" (the weekday, spaces, commas, slashes) or "padding"."""
    parts = np.full(T, "other", dtype=object)
    parts[len(question.rstrip()):] = "padding"
    for name, span in question_spans(question).items():
        parts[span] = name
    return parts.astype(str)


def own_columns(questions, T):
    """(N, A, T) bool for N questions: True at the columns of each answer row's own part
    (``ANSWER_PARTS``), so that ``(attention * own_columns(...)).sum(-1)`` is ``own_share``
    of every question at once."""
    parts = np.array([column_parts(q, T) for q in questions])  # (N, T)
    return parts[:, None, :] == np.array(ANSWER_PARTS)[None, :, None]
