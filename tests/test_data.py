"""Tests of seqattn.data: the generated date file, the loader, the split and the vocabulary."""
import datetime
import re
from collections import Counter

import numpy as np
import pytest

from seqattn.data import (
    DEFAULT_N,
    Vocabulary,
    default_data_path,
    format_question,
    generate_dates,
    load_dates,
    write_date_file,
)

# The test's own English names, independent of the module's tables and of the locale.
MONTHS = ["january", "february", "march", "april", "may", "june", "july",
          "august", "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

DAY = r"(?P<day>\d{1,2})"
YEAR = r"(?P<year>\d{4})"
# style -> regex; a medium date ("Sep 7, 1994") matches "long"; the case is checked separately
PATTERNS = {
    "long": re.compile(rf"(?P<month>[A-Za-z]{{3,9}}) {DAY}, {YEAR}"),
    "full": re.compile(rf"(?P<weekday>[A-Za-z]+), (?P<month>[A-Za-z]{{3,9}}) {DAY}, {YEAR}"),
    "short": re.compile(r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{2})"),
}

BOOK_LINES = [  # lines of the book's own date.txt, with repetitions
    "september 27, 1994           _1994-09-27",
    "August 19, 2003              _2003-08-19",
    "2/10/93                      _1993-02-10",
    "TUESDAY, SEPTEMBER 25, 1984  _1984-09-25",
    "August 19, 2003              _2003-08-19",
    "JUN 17, 2013                 _2013-06-17",
    "Wednesday, June 21, 2006     _2006-06-21",
    "2/10/93                      _1993-02-10",
]


def parse(question):
    """The question's (style, case, zero-padded, date), by the test's own rules."""
    for style in ("full", "long", "short"):  # "long" also matches the medium style
        match = PATTERNS[style].fullmatch(question)
        if match:
            break
    else:
        raise AssertionError(f"no format matches {question!r}")

    if style == "short":
        year = 1900 + int(match["year"]) if int(match["year"]) >= 70 else 2000 + int(match["year"])
        month = int(match["month"])
        zero_padded = len(match["month"]) == 2 and len(match["day"]) == 2
        case = None
    else:
        year = int(match["year"])
        name = match["month"].lower()
        if style == "long" and len(name) == 3 and name != "may":  # "May" is long and medium
            style = "medium"
        names = [m[:3] for m in MONTHS] if style == "medium" else MONTHS
        month = names.index(name) + 1
        zero_padded = match["day"].startswith("0")
        words = re.findall("[A-Za-z]+", question)
        if all(w == w.lower() for w in words):
            case = "lower"
        elif all(w == w.upper() for w in words):
            case = "upper"
        elif all(w == w.capitalize() for w in words):
            case = "title"
        else:
            case = "mixed"
    day = datetime.date(year, month, int(match["day"]))
    if style == "full":
        assert match["weekday"].lower() == WEEKDAYS[day.weekday()], question
    return style, case, zero_padded, day


@pytest.fixture(scope="module")
def date_file(tmp_path_factory):
    """The full data set, written with the default arguments."""
    return write_date_file(tmp_path_factory.mktemp("data") / "date.txt")


@pytest.fixture(scope="module")
def lines(date_file):
    with open(date_file, encoding="ascii", newline="") as f:
        return f.read().split("\n")[:-1]


@pytest.fixture(scope="module")
def loaded(date_file):
    return load_dates(date_file)


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- the generated file --------------------------------------------------------------------

def test_layout_of_every_line(date_file, lines):
    assert date_file.read_bytes().endswith(b"\n")
    assert len(lines) == DEFAULT_N
    for line in lines:
        assert len(line) == 40, line
        assert line[29] == "_" and "_" not in line[:29], line
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", line[30:]), line
    questions = [line[:29] for line in lines]
    assert len(set(questions)) == len(questions)


def test_every_question_means_its_answer(lines):
    seen = Counter()
    for line in lines:
        question, answer = line[:29].rstrip(" "), line[30:]
        assert question == question.strip() and "  " not in question
        style, case, zero_padded, day = parse(question)  # also checks weekday names
        assert day.isoformat() == answer, line
        if style == "short":
            assert 1970 <= day.year <= 2069, line
        seen[style, case, zero_padded] += 1
    # every style in every case, with and without zero padding, occurs -- and nothing else
    expected = {(style, case, pad) for style in ("long", "medium", "full")
                for case in ("title", "lower", "upper") for pad in (False, True)}
    expected |= {("short", None, False), ("short", None, True)}
    assert set(seen) == expected
    assert min(seen.values()) > 500


def test_single_digit_forms_occur(lines):
    questions = [line[:29].rstrip(" ") for line in lines]
    assert any(re.fullmatch(r"[A-Za-z]{3} \d, \d{4}", q) for q in questions)  # Sep 7, 1994
    assert any(re.fullmatch(r"[A-Za-z]{3} 0\d, \d{4}", q) for q in questions)  # Sep 07, 1994
    assert any(re.fullmatch(r"\d/\d/\d\d", q) for q in questions)  # 9/7/94
    assert any(re.fullmatch(r"0\d/0\d/\d\d", q) for q in questions)  # 09/07/94


def test_years_cover_the_books_range(lines):
    years = {int(line[30:34]) for line in lines}
    assert set(range(1970, 2018)) <= years
    assert min(years) < 1910 and max(years) > 2090
    assert 1900 <= min(years) and max(years) <= 2099


def test_committed_file_is_the_default_regeneration(date_file):
    committed = default_data_path()
    assert committed.exists(), f"{committed} is missing: run python -m seqattn.data"
    assert committed.read_bytes() == date_file.read_bytes()


def test_generation_is_deterministic_and_prefix_stable(tmp_path, lines):
    path = write_date_file(tmp_path / "small.txt", n=1000)
    assert path.read_text(encoding="ascii").split("\n")[:-1] == lines[:1000]
    assert generate_dates(1000, seed=1) == generate_dates(1000, seed=1)
    assert generate_dates(1000, seed=1) != lines[:1000]
    assert [p.name for p in tmp_path.iterdir()] == ["small.txt"]  # no temporary file left


def test_format_question():
    day = datetime.date(1994, 9, 7)  # a Wednesday
    assert format_question(day, "long") == "September 7, 1994"
    assert format_question(day, "medium", "lower", zero_pad=True) == "sep 07, 1994"
    assert format_question(day, "full", "upper") == "WEDNESDAY, SEPTEMBER 7, 1994"
    assert format_question(day, "short") == "9/7/94"
    assert format_question(day, "short", zero_pad=True) == "09/07/94"
    assert format_question(datetime.date(2069, 12, 31), "short") == "12/31/69"
    with pytest.raises(ValueError, match="1970-2069"):
        format_question(datetime.date(1969, 12, 31), "short")


# --- the loader ----------------------------------------------------------------------------

def test_round_trip(lines, loaded):
    (x_train, t_train), (x_test, t_test), vocab = loaded
    x, t = np.concatenate([x_train, x_test]), np.concatenate([t_train, t_test])
    assert x.shape == (DEFAULT_N, 29) and t.shape == (DEFAULT_N, 11)
    assert x.dtype.kind == "i" and t.dtype.kind == "i"
    assert (vocab.question_width, vocab.answer_width) == (29, 10)
    assert vocab.start_char == "_" and vocab.id_to_char[vocab.start_id] == "_"
    assert np.all(t[:, 0] == vocab.start_id)

    pairs = {(line[:29].rstrip(" "), line[30:]) for line in lines}
    decoded = {(vocab.decode_question(q), vocab.decode(a[1:])) for q, a in zip(x, t)}
    assert decoded == pairs
    for line in lines[:200]:
        question = line[:29].rstrip(" ")
        assert vocab.decode(vocab.encode(line)) == line
        assert vocab.decode_question(vocab.encode_question(question)) == question
        assert np.array_equal(vocab.encode_question(question), vocab.encode(line[:29]))


def test_vocabulary_ids_are_sorted_characters(lines, loaded):
    vocab = loaded[2]
    chars = sorted(set("".join(lines)))
    assert list(vocab.char_to_id) == chars and len(vocab) == len(chars)
    assert vocab.char_to_id == {c: i for i, c in enumerate(chars)}
    assert vocab.id_to_char == {i: c for i, c in enumerate(chars)}


def test_split_is_disjoint_and_sized(loaded):
    (x_train, t_train), (x_test, t_test), _ = loaded
    assert len(x_test) == len(t_test) == round(0.1 * DEFAULT_N)
    assert len(x_train) == len(t_train) == DEFAULT_N - len(x_test)
    train = {row.tobytes() for row in x_train}
    test = {row.tobytes() for row in x_test}
    assert len(train) == len(x_train) and len(test) == len(x_test)
    assert not train & test


def test_split_depends_on_the_seed_only(tmp_path, lines):
    path = write_lines(tmp_path / "dates.txt", lines[:2000])
    (a_train, _), (a_test, _), _ = load_dates(path, test_size=0.25, seed=3)
    (b_train, _), (b_test, _), _ = load_dates(path, test_size=0.25, seed=3)
    (c_train, _), (c_test, _), _ = load_dates(path, test_size=0.25, seed=4)
    assert len(a_test) == 500 and len(a_train) == 1500
    assert np.array_equal(a_train, b_train) and np.array_equal(a_test, b_test)
    assert not np.array_equal(a_test, c_test)
    assert {r.tobytes() for r in a_test} != {r.tobytes() for r in c_test}


def test_vocabulary_does_not_depend_on_line_order(tmp_path, lines):
    forward = write_lines(tmp_path / "forward.txt", lines[:300])
    backward = write_lines(tmp_path / "backward.txt", lines[:300][::-1])
    assert load_dates(forward)[2].char_to_id == load_dates(backward)[2].char_to_id


def test_reverse(date_file, loaded):
    (x_train, t_train), (x_test, _), vocab = loaded
    (r_train, rt_train), (r_test, _), r_vocab = load_dates(date_file, reverse=True)
    assert r_vocab.reversed and not vocab.reversed
    assert np.array_equal(r_train, x_train[:, ::-1]) and np.array_equal(r_test, x_test[:, ::-1])
    assert np.array_equal(rt_train, t_train)  # answers are never reversed
    assert r_train.flags.c_contiguous
    question = vocab.decode_question(x_train[0])
    assert np.array_equal(r_vocab.encode_question(question), r_train[0])
    assert r_vocab.decode_question(r_train[0]) == question


def test_book_format_with_repeated_lines(tmp_path):
    path = write_lines(tmp_path / "book.txt", BOOK_LINES)
    (x_train, t_train), (x_test, t_test), vocab = load_dates(path, test_size=0.2)
    assert len(x_train) + len(x_test) == 6  # two repeated lines collapse
    assert len(x_test) == round(0.2 * 6) == 1
    questions = {vocab.decode_question(q) for q in np.concatenate([x_train, x_test])}
    assert questions == {line[:29].rstrip(" ") for line in BOOK_LINES}
    assert x_train.shape[1] == 29 and t_train.shape[1] == 11


def test_a_question_with_two_answers_raises(tmp_path):
    path = write_lines(tmp_path / "book.txt",
                       BOOK_LINES + ["2/10/93                      _2093-02-10"])
    with pytest.raises(ValueError, match=r"'2/10/93'.*line 3.*line 9"):
        load_dates(path)


@pytest.mark.parametrize("bad_line, number", [
    ("June 1, 2000               _2000-06-01", 3),  # one character short
    ("June 1, 2000                 2000-06-01", 3),  # no separator
    ("June 1, 2000                _2000-06-0", 3),  # separator one column early
    ("", 3),  # an empty line
])
def test_malformed_lines_raise(tmp_path, bad_line, number):
    path = write_lines(tmp_path / "bad.txt", BOOK_LINES[:2] + [bad_line] + BOOK_LINES[2:])
    with pytest.raises(ValueError, match=rf"bad\.txt, line {number}\b"):
        load_dates(path)


def test_first_line_without_separator_raises(tmp_path):
    path = write_lines(tmp_path / "bad.txt", ["June 1, 2000 2000-06-01"])
    with pytest.raises(ValueError, match=r"bad\.txt, line 1\b"):
        load_dates(path)


def test_empty_file_raises(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    with pytest.raises(ValueError, match=r"empty\.txt is empty"):
        load_dates(path)


def test_encode_errors():
    vocab = Vocabulary("abc 0123456789,/-", question_width=29, answer_width=10)
    with pytest.raises(ValueError, match=r"not in the vocabulary: .*'#'.*'é'"):
        vocab.encode_question("ab#é")
    with pytest.raises(ValueError, match=r"not in the vocabulary: 'z'"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match=r"is 31 characters; .* at most 29"):
        vocab.encode_question("a" * 31)
    assert vocab.encode_question("a" * 29).shape == (29,)


def test_no_global_random_state(tmp_path):
    before = np.random.get_state()
    path = write_date_file(tmp_path / "dates.txt", n=500, seed=7)
    load_dates(path, seed=7)
    load_dates(path, seed=7, reverse=True)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_vocabularies_are_equal_when_they_encode_the_same_way():
    base = Vocabulary("abc")
    assert base == Vocabulary("cab") and not base != Vocabulary("cab")  # ids follow sorted order
    assert base != Vocabulary("abd")
    assert base != Vocabulary("abc", reversed=True)
    assert base != Vocabulary("abc", question_width=28)
    assert base != Vocabulary("abc", answer_width=9)
    assert base != "abc"


# --- the book's own split -------------------------------------------------------------------------

BOOK_STYLE = [  # lines as the book's date.txt writes them: the question padded to 29, "_", answer
    "september 27, 1994           _1994-09-27", "August 19, 2003              _2003-08-19",
    "2/10/93                      _1993-02-10", "10/31/90                     _1990-10-31",
    "TUESDAY, SEPTEMBER 25, 1984  _1984-09-25", "JUN 17, 2013                 _2013-06-17",
    "april 3, 1996                _1996-04-03", "October 24, 1974             _1974-10-24",
    "AUGUST 11, 1986              _1986-08-11", "February 16, 2015            _2015-02-16",
    "october 12, 1988             _1988-10-12", "6/3/73                       _1973-06-03",
]


def test_the_book_split_keeps_duplicates_and_follows_the_books_shuffle(tmp_path):
    lines = BOOK_STYLE * 2 + BOOK_STYLE[:3]  # 27 lines; 12 questions twice, 3 three times
    path = write_lines(tmp_path / "date.txt", lines)
    (x_train, t_train), (x_test, t_test), vocab = load_dates(path, split="book")
    # the book's algorithm, with numpy's global legacy generator (restored afterwards)
    state = np.random.get_state()
    try:
        np.random.seed(1984)
        indices = np.arange(len(lines))
        np.random.shuffle(indices)
    finally:
        np.random.set_state(state)
    split_at = len(lines) - len(lines) // 10  # 25 for training, the last 2 for testing
    for x, t, part in [(x_train, t_train, indices[:split_at]), (x_test, t_test, indices[split_at:])]:
        got = [vocab.decode(q) + vocab.decode(a) for q, a in zip(x, t)]
        assert got == [lines[k] for k in part]
    assert len(x_test) == 2 and len(x_train) == 25  # duplicates kept: 27 lines in all
    # the course's split counts each question once, and shares none between the parts
    (c_train, _), (c_test, _), _ = load_dates(path)
    assert len(c_train) + len(c_test) == len(BOOK_STYLE)
    # reversed questions: the same split, each question back to front
    (r_train, _), (r_test, _), _ = load_dates(path, split="book", reverse=True)
    assert np.array_equal(r_test, x_test[:, ::-1]) and np.array_equal(r_train, x_train[:, ::-1])


def test_the_book_split_refuses_what_it_cannot_do(tmp_path):
    path = write_lines(tmp_path / "date.txt", BOOK_STYLE)
    with pytest.raises(ValueError, match="split must be 'course'"):
        load_dates(path, split="books")
    with pytest.raises(ValueError, match="last tenth"):
        load_dates(path, split="book", test_size=0.2)
    with pytest.raises(ValueError, match="below 2\\*\\*32"):
        load_dates(path, split="book", seed=2**32)
