"""The date-format conversion data set of chapter 7 of *Deep Learning from Scratch 2*.

Every line of ``date.txt`` holds one question and its answer::

    september 27, 1994           _1994-09-27
    2/10/93                      _1993-02-10
    TUESDAY, SEPTEMBER 25, 1984  _1984-09-25

The question is padded with spaces to a fixed width (29 characters, the length of
``"Wednesday, September 17, 2003"``), then comes the separator ``_`` and the answer
``YYYY-MM-DD`` (10 characters): 40 characters a line. The separator doubles as the
decoder's start character: the decoder reads ``_1994-09-2`` and has to write ``1994-09-27``.

This module

- writes the file: :func:`write_date_file` (or ``python -m seqattn.data``), deterministic
  for a seed, every question unique;
- reads any file in this format (the book's own ``date.txt`` included) into arrays of
  character ids: :func:`load_dates`, split so that no question is in both training and
  test data;
- turns text into ids and back: :class:`Vocabulary`.

Shape letters as in the book: N number of examples, T question width (29 here),
A answer width (10 here).
"""
import argparse
import datetime
import os
from pathlib import Path

import numpy as np

from .checks import check_whole_number

# --- the layout of a line ------------------------------------------------------------------

QUESTION_WIDTH = 29  # len("Wednesday, September 17, 2003"), the longest question
ANSWER_WIDTH = 10  # len("1994-09-27")
SEPARATOR = "_"  # between question and answer; also the decoder's start character
PAD = " "  # pads a question to QUESTION_WIDTH

DEFAULT_SEED = 0  # the seed data/date.txt was written with
BOOK_SEED = 1984  # the seed of the book's own split (its dataset/sequence.py)
DEFAULT_N = 50_000

# English names, hard-coded so that the data does not depend on the computer's locale.
MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

STYLES = ("long", "medium", "full", "short")
CASES = ("title", "lower", "upper")

# Dates of the long, medium and full formats. A wide range: the book's data spans 1970-2017.
FIRST_DATE = datetime.date(1900, 1, 1)
LAST_DATE = datetime.date(2099, 12, 31)
# A two-digit year is read in one 100-year window, so "9/27/94" can only mean 1994 and
# "9/27/24" only 2024: only dates in this window are written in the short format.
FIRST_SHORT_DATE = datetime.date(1970, 1, 1)
LAST_SHORT_DATE = datetime.date(2069, 12, 31)


# --- writing the data set ------------------------------------------------------------------

def format_question(day, style, case="title", zero_pad=False):
    """Writes the date ``day`` (a ``datetime.date``) as a question.

    ``style``: ``"long"`` (September 7, 1994), ``"medium"`` (Sep 7, 1994),
    ``"full"`` (Wednesday, September 7, 1994) or ``"short"`` (9/7/94).
    ``case``: ``"title"``, ``"lower"`` or ``"upper"`` (the short style has no letters).
    ``zero_pad``: write one-digit days and months with two digits (Sep 07, 1994; 09/07/94).
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {STYLES}")
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; choose one of {CASES}")

    month = MONTHS[day.month - 1]
    day_of_month = f"{day.day:02d}" if zero_pad else str(day.day)
    if style == "long":
        text = f"{month} {day_of_month}, {day.year}"
    elif style == "medium":
        text = f"{month[:3]} {day_of_month}, {day.year}"
    elif style == "full":
        weekday = WEEKDAYS[day.weekday()]
        text = f"{weekday}, {month} {day_of_month}, {day.year}"
    else:  # short
        if not FIRST_SHORT_DATE <= day <= LAST_SHORT_DATE:
            raise ValueError(
                f"{day} is outside {FIRST_SHORT_DATE.year}-{LAST_SHORT_DATE.year}, "
                "the only years a two-digit year may stand for")
        month_number = f"{day.month:02d}" if zero_pad else str(day.month)
        text = f"{month_number}/{day_of_month}/{day.year % 100:02d}"

    if case == "lower":
        text = text.lower()
    elif case == "upper":
        text = text.upper()
    return text


def question_format(question):
    """The (style, case) a question is written in, read off its text: the inverse of
    ``format_question`` up to zero padding.

    style: ``"short"`` if it contains ``/``, ``"full"`` if it starts with a weekday, else
    ``"long"`` for a full month name and ``"medium"`` for an abbreviated one ("May" is both:
    it counts as long). case: ``"upper"``, ``"lower"`` or ``"title"`` from its letters, and
    ``"none"`` for a question without letters (the short style). Raises ValueError for text
    that is none of these.
    """
    text = question.strip()
    letters = "".join(c for c in text if c.isalpha())
    if "/" in text:
        if letters:
            raise ValueError(f"{question!r} mixes the short style (/) with letters")
        return "short", "none"
    words = [w.strip(",").lower() for w in text.split()]
    months = [m.lower() for m in MONTHS]
    if words and words[0] in [d.lower() for d in WEEKDAYS]:
        style = "full"
        words = words[1:]
    elif words and words[0] in months:
        style = "long"
    elif words and words[0] in [m[:3] for m in months]:
        style = "medium"
    else:
        raise ValueError(f"{question!r} is not in one of the styles {STYLES}")
    if not words or words[0] not in months + [m[:3] for m in months]:
        raise ValueError(f"{question!r} has no month after its weekday")
    if letters.isupper():
        case = "upper"
    elif letters.islower():
        case = "lower"
    else:
        case = "title"
    return style, case


def _check_seed(seed):
    """Raises unless seed is a whole number >= 0 (what np.random.default_rng accepts), or None."""
    if seed is None:
        return
    check_whole_number("seed", seed, 0)


def generate_dates(n=DEFAULT_N, seed=DEFAULT_SEED):
    """Returns ``n`` lines (without newline), each a unique question and its answer.

    Random dates and formats are drawn from ``np.random.default_rng(seed)`` until ``n``
    different questions exist; a question drawn twice is skipped. The draws come in chunks
    of a fixed size, so a smaller ``n`` gives the first ``n`` lines of a larger one.
    """
    if not 1 <= n <= 200_000:
        # there are about 900,000 possible questions, and far fewer in the short style
        raise ValueError(f"n must be between 1 and 200,000, got {n}")
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    chunk = 4096
    first, last = FIRST_DATE.toordinal(), LAST_DATE.toordinal()
    first_short, last_short = FIRST_SHORT_DATE.toordinal(), LAST_SHORT_DATE.toordinal()

    lines = []
    seen = set()
    while len(lines) < n:
        styles = rng.integers(len(STYLES), size=chunk)
        cases = rng.integers(len(CASES), size=chunk)
        zero_pads = rng.integers(2, size=chunk)
        days = rng.integers(first, last + 1, size=chunk)
        short_days = rng.integers(first_short, last_short + 1, size=chunk)

        for i in range(chunk):
            style = STYLES[styles[i]]
            ordinal = short_days[i] if style == "short" else days[i]
            day = datetime.date.fromordinal(int(ordinal))
            question = format_question(day, style, CASES[cases[i]], bool(zero_pads[i]))
            if question in seen:
                continue
            seen.add(question)
            lines.append(question.ljust(QUESTION_WIDTH, PAD) + SEPARATOR + day.isoformat())
            if len(lines) == n:
                break
    return lines


def write_date_file(path, n=DEFAULT_N, seed=DEFAULT_SEED):
    """Writes ``n`` lines of :func:`generate_dates` to ``path``; returns ``path`` as a Path.

    The file is written under a temporary name in the same directory and then renamed,
    so a reader never sees half a file. Same ``n`` and ``seed``, same bytes.
    """
    path = Path(path)
    lines = generate_dates(n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="ascii", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def default_data_path():
    """The course's ``data/date.txt``, found relative to this file (src/seqattn/data.py).

    Works in the source tree and in an editable install (``pip install -e .``).
    """
    return Path(__file__).resolve().parents[2] / "data" / "date.txt"


# --- characters <-> ids --------------------------------------------------------------------

def _shorten(value, width=40):
    """repr(value), cut to its first ``width`` characters and "…" if it is longer: an error
    message should not repeat a 10,000-character input in full."""
    if isinstance(value, (str, bytes)) and len(value) > width:
        return f"{value[:width]!r}…"
    text = repr(value)
    return text if len(text) <= width + 2 else text[:width] + "…"


class Vocabulary:
    """Maps characters to integer ids and back, and knows the layout of the data set.

    Ids are assigned in sorted character order, so they don't depend on the order of the
    lines in the file. The pad character ``" "`` and the separator ``"_"`` always have an id.

    Attributes: ``char_to_id`` (dict), ``id_to_char`` (dict), ``question_width`` (T),
    ``answer_width`` (A), ``start_char`` (``"_"``), ``start_id``, ``reversed`` (whether the
    questions are stored back to front).
    """

    def __init__(self, chars, question_width=QUESTION_WIDTH, answer_width=ANSWER_WIDTH,
                 reversed=False, start_char=SEPARATOR):
        all_chars = sorted(set(chars) | {PAD, start_char})
        self.char_to_id = {char: i for i, char in enumerate(all_chars)}
        self.id_to_char = {i: char for i, char in enumerate(all_chars)}
        self.question_width = question_width
        self.answer_width = answer_width
        self.start_char = start_char
        self.start_id = self.char_to_id[start_char]
        self.reversed = reversed

    def __len__(self):
        return len(self.char_to_id)

    def __repr__(self):
        return (f"Vocabulary({len(self)} characters, question_width={self.question_width}, "
                f"answer_width={self.answer_width}, reversed={self.reversed})")

    def encode(self, text):
        """Text of length L -> ids (L,). Unknown characters raise ValueError, text that is not a
        str (bytes, say) TypeError."""
        if not isinstance(text, str):
            raise TypeError(f"the text to encode must be a str, not {type(text).__name__}: "
                            f"{_shorten(text)}")
        unknown = sorted(set(text) - self.char_to_id.keys())
        if unknown:
            names = ", ".join(repr(char) for char in unknown)
            raise ValueError(f"characters not in the vocabulary: {names}")
        return np.array([self.char_to_id[char] for char in text], dtype=np.int64)

    def decode(self, ids):
        """Ids (L,) -> text of length L. Ids that are not integers raise TypeError, ids
        outside the vocabulary ValueError."""
        if isinstance(ids, (str, bytes)):
            raise TypeError(f"decode takes integer ids, not a {type(ids).__name__}: "
                            f"{_shorten(ids)} (encode turns text into ids)")
        array = np.asarray(ids)
        if array.ndim != 1:
            raise ValueError(f"decode takes a sequence of ids (L,), not an array of shape "
                             f"{array.shape}")
        if array.size and array.dtype.kind not in "iu":  # an empty list is float64: no ids
            raise TypeError(f"ids must be integers, not {array.dtype}: {_shorten(ids)}")
        try:
            return "".join([self.id_to_char[i] for i in array.tolist()])
        except KeyError as error:
            raise ValueError(f"the id {error.args[0]} is not in the vocabulary "
                             f"(ids 0 to {len(self) - 1})") from None

    def encode_question(self, text):
        """A question -> ids (T,): padded with spaces to the width, reversed if the data set is.

        Raises TypeError for a question that is not a str, ValueError for an empty or blank
        one, one wider than the question width or containing the separator or characters
        outside the vocabulary."""
        if not isinstance(text, str):
            raise TypeError(f"a question must be a str, not {type(text).__name__}: "
                            f"{_shorten(text)}")
        if not text:
            raise ValueError("the question is empty")
        if not text.strip():
            raise ValueError(f"the question is blank: {text!r} holds only white space")
        if len(text) > self.question_width:
            raise ValueError(
                f"the question {_shorten(text)} is {len(text)} characters; "
                f"this vocabulary's questions are at most {self.question_width}")
        if self.start_char in text:
            raise ValueError(f"a question cannot contain the separator {self.start_char!r}")
        ids = self.encode(text.ljust(self.question_width, PAD))
        return ids[::-1].copy() if self.reversed else ids

    def decode_question(self, ids):
        """Ids (T,) of a question -> the question, un-reversed and without its padding."""
        if self.reversed:
            ids = ids[::-1]
        return self.decode(ids).rstrip(PAD)

    def __eq__(self, other):
        """Two vocabularies are equal when they give every character the same id and lay out
        questions and answers the same way (``to_dict`` holds all of it)."""
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # mutable attributes: equal vocabularies need not stay equal

    def to_dict(self):
        """What defines this vocabulary, as a JSON-serialisable dict (checkpoints store it):
        its characters, both widths, whether questions are reversed, the start character."""
        return {"chars": "".join(self.char_to_id), "question_width": int(self.question_width),
                "answer_width": int(self.answer_width), "reversed": bool(self.reversed),
                "start_char": self.start_char}

    @classmethod
    def from_dict(cls, d):
        """The vocabulary that ``to_dict`` described: same characters, same ids.
        Raises ValueError when d is not such a dict."""
        kinds = {"chars": str, "question_width": int, "answer_width": int, "reversed": bool,
                 "start_char": str}
        if not isinstance(d, dict) or set(d) != set(kinds):
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"a vocabulary needs exactly the keys {sorted(kinds)}, got {got}")
        for key, kind in kinds.items():
            value = d[key]
            if type(value) is not kind or (kind is int and value < 1):  # bool is not an int here
                raise ValueError(f"vocabulary entry {key!r} must be a {kind.__name__}"
                                 f"{' >= 1' if kind is int else ''}, got {value!r}")
        vocab = cls(d["chars"], d["question_width"], d["answer_width"], d["reversed"],
                    d["start_char"])
        if vocab.to_dict() != d:  # so that every id is the one the dict's order gives
            raise ValueError(f"vocabulary chars must be sorted, unique, and include the pad "
                             f"{PAD!r} and the start character, got {d['chars']!r}")
        return vocab


# --- reading the data set ------------------------------------------------------------------

def _read_text(path):
    """The text of ``path``, read as UTF-8. A byte order mark at the start (some Windows
    editors write one) is dropped rather than counted as a character of line 1; bytes that are
    not UTF-8 raise ValueError naming the file, the line and the byte."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except UnicodeDecodeError:
        data = Path(path).read_bytes()
        try:
            data.decode("utf-8")  # again, on the whole file: positions counted from its start
        except UnicodeDecodeError as error:
            line = data[:error.start].count(b"\n") + 1
            raise ValueError(f"{path}, line {line}: not UTF-8 text (the byte "
                             f"{data[error.start]:#04x}: {error.reason})") from None
        raise


def _read_lines(path):
    """The lines of ``path`` as (line number, question, answer); checks the layout."""
    lines = _read_text(path).split("\n")
    if lines[-1] == "":  # the newline at the end of the file
        lines.pop()
    if not lines:
        raise ValueError(f"{path} is empty")

    first = lines[0]
    width = first.find(SEPARATOR)  # a question never contains the separator
    if width < 0:
        raise ValueError(f"{path}, line 1: no separator {SEPARATOR!r}")
    if width == 0:
        raise ValueError(f"{path}, line 1: {first!r} starts with the separator "
                         f"{SEPARATOR!r}: its question is empty")
    length = len(first)
    if width == length - 1:
        raise ValueError(f"{path}, line 1: {first!r} ends with the separator "
                         f"{SEPARATOR!r}: its answer is empty")

    rows = []
    for number, line in enumerate(lines, start=1):
        if len(line) != length or line.find(SEPARATOR) != width:
            raise ValueError(
                f"{path}, line {number}: {line!r} is not like line 1 "
                f"({length} characters, the first {SEPARATOR!r} as character {width + 1})")
        answer = line[width + 1:]
        if SEPARATOR in answer:  # the decoder's start character may not be a character to write
            raise ValueError(f"{path}, line {number}: the answer {answer!r} contains the "
                             f"separator {SEPARATOR!r}")
        rows.append((number, line[:width], answer))
    return rows


def load_dates(path, test_size=0.1, seed=None, reverse=False, split="course"):
    """Reads a date file into ids: ``(x_train, t_train), (x_test, t_test), vocab``.

    - ``x``: (N, T) ids of the padded questions, T the question width of the file.
    - ``t``: (N, A + 1) ids of ``"_"`` + answer. The decoder's input is ``t[:, :-1]``
      and its target ``t[:, 1:]``; ``vocab.start_id`` is the id of ``"_"``.

    split="course" (the default): identical lines count once (the book's own file repeats
    some). The unique questions are shuffled with ``np.random.default_rng(seed)`` (seed None:
    ``DEFAULT_SEED``) and ``round(test_size * count)`` of them become test data, so no
    question is in both parts.

    split="book": the book's own split (its ``dataset/sequence.py``), to compare with its
    published accuracy. Every line counts, duplicates included; their order is shuffled with
    numpy's legacy generator seeded with ``BOOK_SEED`` (1984; or seed), as
    ``np.random.seed(1984); np.random.shuffle(indices)``, and the last ``N // 10`` become test
    data (test_size must be 0.1). **It leaks**: a question that the file holds twice can land
    in both parts, so the test accuracy counts some questions the model was trained on. (The
    vocabulary's ids differ from the book's; the questions in each part are the same.)

    With ``reverse=True`` every question is stored back to front (the book's "reversed
    input"): ``x[:, ::-1]``.
    """
    if split not in ("course", "book"):
        raise ValueError(f"split must be 'course' (ours) or 'book' (the book's own), not "
                         f"{split!r}")
    if not 0 <= test_size <= 1:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
    if split == "book" and test_size != 0.1:
        raise ValueError(f"the book's split holds out the last tenth of the lines: test_size "
                         f"must be 0.1, not {test_size}")
    if seed is None:
        seed = BOOK_SEED if split == "book" else DEFAULT_SEED
    _check_seed(seed)
    if split == "book" and seed >= 2**32:
        raise ValueError(f"the book's split seeds numpy's legacy generator, which takes a seed "
                         f"below 2**32, not {seed}")
    rows = _read_lines(path)

    answers = {}  # question -> (answer, number of the line it was first seen on)
    for number, question, answer in rows:
        if question in answers:
            earlier_answer, earlier_number = answers[question]
            if answer != earlier_answer:
                raise ValueError(
                    f"{path}: the question {question.rstrip(PAD)!r} has two answers, "
                    f"{earlier_answer!r} on line {earlier_number} and {answer!r} on line {number}")
            continue
        answers[question] = (answer, number)

    chars = set()
    for _, question, answer in rows:
        chars.update(question, answer)
    question_width = len(rows[0][1])
    answer_width = len(rows[0][2])
    vocab = Vocabulary(chars, question_width, answer_width, reversed=reverse)

    if split == "book":
        pairs = [(question, answer) for _, question, answer in rows]  # every line
    else:
        pairs = [(question, answers[question][0]) for question in answers]  # unique, in order
    x = np.array([vocab.encode(q) for q, _ in pairs], dtype=np.int64)
    t = np.array([vocab.encode(SEPARATOR + a) for _, a in pairs], dtype=np.int64)
    if reverse:
        x = x[:, ::-1].copy()

    if split == "book":
        order = np.arange(len(pairs))
        np.random.RandomState(seed).shuffle(order)  # as np.random.seed(seed); shuffle(order)
        split_at = len(pairs) - len(pairs) // 10
        train, test = order[:split_at], order[split_at:]
    else:
        order = np.random.default_rng(seed).permutation(len(pairs))
        n_test = round(test_size * len(pairs))
        test, train = order[:n_test], order[n_test:]
    return (x[train], t[train]), (x[test], t[test]), vocab


# --- command line --------------------------------------------------------------------------

def main(argv=None):
    """``python -m seqattn.data [--out PATH] [--n N] [--seed SEED]`` writes the data set."""
    parser = argparse.ArgumentParser(description="Write the date-format conversion data set.")
    parser.add_argument("--out", type=Path, default=default_data_path(),
                        help="the file to write (default: data/date.txt of the course)")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="number of lines")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    path = write_date_file(args.out, n=args.n, seed=args.seed)
    print(f"wrote {args.n} lines to {path}")


if __name__ == "__main__":
    main()
