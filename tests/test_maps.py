"""seqattn.maps: the month, day and year of every question format, and each answer row's
weight on its own part of the question."""
import numpy as np
import pytest

from seqattn.maps import ANSWER_PARTS, column_parts, own_columns, own_share, question_spans


@pytest.mark.parametrize("question,parts", [
    ("TUESDAY, SEPTEMBER 25, 1984", ("SEPTEMBER", "25", "1984")),
    ("september 25, 1984", ("september", "25", "1984")),
    ("Sep 5, 1984", ("Sep", "5", "1984")),
    ("9/5/84", ("9", "5", "84")),
    ("5/5/55", ("5", "5", "55")),  # the same digits: found in order, not the first match
    ("Aug 8, 2008   ", ("Aug", "8", "2008")),  # padded
])
def test_question_spans(question, parts):
    spans = question_spans(question)
    assert tuple(question[spans[k]] for k in ("month", "day", "year")) == parts
    assert spans["month"].start < spans["day"].start < spans["year"].start


def test_question_spans_refuses_what_is_no_date():
    with pytest.raises(ValueError, match="not a question"):
        question_spans("hello")


def test_own_share_sums_each_rows_own_part():
    question, T = "Sep 5, 1984", 14  # month 0-2, day 4, year 7-10, padding 11-13
    attention = np.zeros((10, T))
    attention[:, 12] = 1.0  # every row on the padding
    attention[0] = 0
    attention[0, 7], attention[0, 0] = 0.75, 0.25  # the year's first row: 3/4 on the year
    attention[6] = 0
    attention[6, 1] = 1.0  # a month row on the month
    share = own_share(attention, question, T)
    assert ANSWER_PARTS[4] == ANSWER_PARTS[7] == "padding"
    np.testing.assert_allclose(share, [0.75, 0, 0, 0, 1, 0, 1, 1, 0, 0])


def test_column_parts_and_own_columns_agree_with_own_share():
    questions, T = ["Sep 5, 1984", "TUESDAY, SEPTEMBER 25, 1984", "9/5/84"], 29
    assert "".join(p[0] for p in column_parts("Sep 5, 1984", 14)) == "mmmodooyyyyppp"
    rng = np.random.default_rng(0)
    attention = rng.random((3, 10, T))
    attention /= attention.sum(axis=-1, keepdims=True)
    shares = (attention * own_columns(questions, T)).sum(axis=-1)
    for q, a, s in zip(questions, attention, shares):
        np.testing.assert_allclose(s, own_share(a, q, T))
