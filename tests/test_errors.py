"""Bad arguments are refused where they enter, with a message naming the problem and the value.

One section per module: the optimizer's clipping bound, the Trainer's counts and a diverging
loss, evaluation, the models' sizes and ids, the vocabulary and the date file, and the BLAS
thread setting.
"""
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.data import Vocabulary, generate_dates, load_dates
from seqattn.optim import SGD, Adam, clip_grads
from seqattn.peeky_seq2seq import PeekySeq2seq
from seqattn.seq2seq import Seq2seq
from seqattn.train import Trainer, TrainingDiverged, correct_answers, evaluate, predict

MODELS = [Seq2seq, PeekySeq2seq, AttentionSeq2seq]
V, D, H = 6, 3, 4
CHARS = "0123456789-/, abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
BOOK_LINES = [
    "september 27, 1994           _1994-09-27",
    "August 19, 2003              _2003-08-19",
    "2/10/93                      _1993-02-10",
    "TUESDAY, SEPTEMBER 25, 1984  _1984-09-25",
]


def ids(seed=0, n=8, T=5, A=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (n, T)), rng.integers(0, V, (n, A + 1))


def params_copy(model):
    return [p.copy() for p in model.params]


def assert_params_equal(model, before):
    assert all(np.array_equal(p, q) for p, q in zip(model.params, before))


# --- optim: the clipping bound -------------------------------------------------------------

@pytest.mark.parametrize("bad", [-1.0, 0, 0.0, float("nan"), -np.inf])
def test_clip_grads_refuses_a_bound_that_is_not_positive(bad):
    grads = [np.array([3.0, 4.0])]
    with pytest.raises(ValueError, match=rf"max_norm must be > 0.*not {bad!r}"):
        clip_grads(grads, bad)
    np.testing.assert_array_equal(grads[0], [3.0, 4.0])  # not reversed, not zeroed


def test_clip_grads_without_a_bound():
    for bound in (None, np.inf, float("inf")):
        grads = [np.array([3.0, 4.0])]
        assert clip_grads(grads, bound) == pytest.approx(5.0)
        np.testing.assert_array_equal(grads[0], [3.0, 4.0])
    with pytest.raises(TypeError, match="max_norm.*'5'"):
        clip_grads([np.ones(2)], "5")


@pytest.mark.parametrize("bad", [-5.0, 0])
def test_fit_refuses_max_grad_before_training(bad):
    x, t = ids()
    model = Seq2seq(V, D, H)
    before = params_copy(model)
    trainer = Trainer(model, Adam())
    with pytest.raises(ValueError, match=rf"max_grad must be > 0.*not {bad!r}"):
        trainer.fit(x, t, batch_size=4, max_grad=bad, progress=False)
    assert trainer.loss_history == []
    assert_params_equal(model, before)


# --- train: counts, evaluation, a diverging loss -------------------------------------------

@pytest.mark.parametrize("name, bad, error", [
    ("batch_size", 0, ValueError), ("batch_size", -4, ValueError),
    ("batch_size", 2.5, TypeError), ("batch_size", True, TypeError),
    ("epochs", -1, ValueError), ("epochs", 1.5, TypeError), ("epochs", "2", TypeError),
])
def test_fit_refuses_bad_counts(name, bad, error):
    x, t = ids()
    trainer = Trainer(Seq2seq(V, D, H), Adam())
    arguments = dict(epochs=1, batch_size=4, progress=False)
    arguments[name] = bad
    with pytest.raises(error, match=rf"{name} must be .*{bad!r}"):
        trainer.fit(x, t, **arguments)
    assert trainer.loss_history == []


def test_fit_with_zero_epochs_does_nothing():
    x, t = ids()
    trainer = Trainer(Seq2seq(V, D, H), Adam())
    assert trainer.fit(x, t, epochs=0, batch_size=4, progress=False).loss_history == []


def test_a_non_finite_loss_stops_training_before_the_update():
    """A learning rate of 1e38 makes the float32 scores overflow after an update or two: the
    trainer stops at that iteration, naming it, and the parameters stay finite."""
    x, t = ids(n=16)
    model = Seq2seq(V, D, H)
    trainer = Trainer(model, SGD(lr=1e38))
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as caught:
        trainer.fit(x, t, epochs=3, batch_size=4, progress=False)
    match = re.match(r"the loss is (nan|inf) at iteration (\d) of 4 in epoch (\d) of 3 "
                     r"\((\d+) iterations in all\)", str(caught.value))
    assert match, caught.value
    iteration, epoch, overall = map(int, match.groups()[1:])
    assert overall == 4 * (epoch - 1) + iteration > 1
    assert len(trainer.loss_history) == overall - 1  # every update before it, and not this one
    assert all(np.isfinite(p).all() for p in model.params)


def test_a_poisoned_model_is_left_unchanged():
    """Weights near the float32 limit give an infinite loss at once: nothing is updated."""
    x, t = ids(n=16)
    model = Seq2seq(V, D, H)
    model.decoder.affine.params[0][...] *= 1e38
    before = params_copy(model)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged,
                                                  match="iteration 1 of 4 in epoch 1"):
        Trainer(model, Adam()).fit(x, t, epochs=1, batch_size=4, progress=False)
    assert_params_equal(model, before)


class InfiniteGradients:
    """A 'model' whose loss is fine but whose gradients overflow."""

    def __init__(self):
        self.params, self.grads = [np.ones(3)], [np.zeros(3)]

    def forward(self, x, t):
        return 0.5

    def backward(self):
        self.grads[0][...] = [1.0, np.inf, 0.0]


def test_infinite_gradients_stop_training_before_the_update():
    model = InfiniteGradients()
    x, t = ids()
    with np.errstate(invalid="ignore"), \
            pytest.raises(TrainingDiverged, match="gradients' norm is inf at iteration 1"):
        Trainer(model, SGD(lr=0.1)).fit(x, t, batch_size=4, max_grad=5.0, progress=False)
    np.testing.assert_array_equal(model.params[0], [1.0, 1.0, 1.0])


def test_evaluate_and_predict_refuse_empty_sets_and_bad_batches():
    x, t = ids()
    model = Seq2seq(V, D, H)
    with pytest.raises(ValueError, match="no questions: nothing to evaluate"):
        evaluate(model, x[:0], t[:0])
    with pytest.raises(ValueError, match="no questions: nothing to evaluate"):
        correct_answers(model, x[:0], t[:0])
    with pytest.raises(ValueError, match="no questions: nothing to predict"):
        predict(model, x[:0], 0, 3)
    for bad in (0, -256):
        with pytest.raises(ValueError, match=f"batch_size must be >= 1, not {bad}"):
            evaluate(model, x, t, batch_size=bad)
        with pytest.raises(ValueError, match=f"batch_size must be >= 1, not {bad}"):
            predict(model, x, 0, 3, batch_size=bad)
    with pytest.raises(TypeError, match="batch_size must be a whole number.*2.5"):
        predict(model, x, 0, 3, batch_size=2.5)
    with pytest.raises(ValueError, match=r"t must be an \(N, A \+ 1\) array.*\(7, 4\)"):
        evaluate(model, x, t[:7])
    with pytest.raises(ValueError, match="length must be >= 1, not 0"):
        predict(model, x, 0, 0)


# --- the models: sizes, dtypes and ids -----------------------------------------------------

@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize("sizes, name, bad, error", [
    ((0, D, H), "vocab_size", 0, ValueError), ((V, -3, H), "wordvec_size", -3, ValueError),
    ((V, D, 0), "hidden_size", 0, ValueError), ((V, D, 4.0), "hidden_size", 4.0, TypeError),
    ((V, "3", H), "wordvec_size", "3", TypeError), ((True, D, H), "vocab_size", True, TypeError),
])
def test_models_refuse_bad_sizes(model_class, sizes, name, bad, error):
    with pytest.raises(error, match=rf"{name} must be .*{bad!r}"):
        model_class(*sizes)
    model_class(np.int64(V), D, H)  # NumPy integers are whole numbers too


@pytest.mark.parametrize("model_class", MODELS)
def test_models_refuse_non_float_dtypes(model_class):
    for bad in (np.int32, "int64", bool, "no such type"):
        with pytest.raises(TypeError, match=f"dtype must be a floating-point type.*{bad!r}"):
            model_class(V, D, H, dtype=bad)
    assert model_class(V, D, H, dtype="float64").params[0].dtype == np.float64


@pytest.mark.parametrize("model_class", MODELS)
def test_ids_outside_the_vocabulary_are_named(model_class):
    model = model_class(V, D, H)
    x, t = ids()
    for where, value in [((2, 3), V), ((0, 0), -1), ((7, 4), 99)]:
        bad = x.copy()
        bad[where] = value
        with pytest.raises(ValueError, match=rf"xs holds the id {value}, .*\[0, {V}\)"):
            model.forward(bad, t)
        with pytest.raises(ValueError, match=rf"xs holds the id {value}, .*\[0, {V}\)"):
            model.generate(bad, 0, 3)
    for value in (V, -2):  # -1 is the loss's ignore label (padding), and allowed
        bad = t.copy()
        bad[1, 2] = value
        with pytest.raises(ValueError, match=rf"ts holds the id {value}, .*\[0, {V}\)"):
            model.forward(x, bad)
    with pytest.raises(ValueError, match=rf"start_id holds the id {V}, .*\[0, {V}\)"):
        model.generate(x, V, 3)
    with pytest.raises(ValueError, match=rf"start_id holds the id -1, .*\[0, {V}\)"):
        model.generate(x, np.full(len(x), -1), 3)
    with pytest.raises(ValueError, match="xs must hold integer ids, not float64"):
        model.forward(x.astype(float), t)
    with pytest.raises(ValueError, match="start_id must hold integer ids, not float64"):
        model.generate(x, 1.0, 3)
    with pytest.raises(ValueError, match=r"xs must have 2 dimensions, not shape \(5,\)"):
        model.generate(x[0], 0, 3)


def test_the_ignore_label_is_allowed_in_answers():
    model = Seq2seq(V, D, H)
    x, t = ids()
    padded = t.copy()
    padded[:, -1] = -1  # the last character of every answer is padding
    assert np.isfinite(model.forward(x, padded))


# --- data: the vocabulary ------------------------------------------------------------------

@pytest.fixture
def vocab():
    return Vocabulary(CHARS, question_width=29, answer_width=10)


def test_decode_refuses_unknown_float_and_text_ids(vocab):
    with pytest.raises(ValueError, match=rf"the id {len(vocab)} is not in the vocabulary "
                                         rf"\(ids 0 to {len(vocab) - 1}\)"):
        vocab.decode([1, 2, len(vocab)])
    with pytest.raises(ValueError, match=r"the id -1 is not in the vocabulary"):
        vocab.decode(np.array([3, -1]))
    with pytest.raises(TypeError, match=r"ids must be integers, not float64: \[1\.5, 2\.0\]"):
        vocab.decode([1.5, 2.0])
    with pytest.raises(TypeError, match="decode takes integer ids, not a str: '1994'"):
        vocab.decode("1994")
    with pytest.raises(ValueError, match=r"decode takes a sequence of ids \(L,\).*\(2, 3\)"):
        vocab.decode(np.zeros((2, 3), dtype=int))
    assert vocab.decode([]) == ""
    assert vocab.decode(np.array(vocab.encode("ab, 19"), dtype=np.uint8)) == "ab, 19"


def test_questions_must_be_text(vocab):
    with pytest.raises(TypeError, match="a question must be a str, not bytes: b'Aug 8, 2001'"):
        vocab.encode_question(b"Aug 8, 2001")
    with pytest.raises(TypeError, match="must be a str, not bytes"):
        vocab.encode(b"Aug 8, 2001")
    with pytest.raises(TypeError, match="a question must be a str, not int: 19940927"):
        vocab.encode_question(19940927)


def test_empty_and_blank_questions_are_refused(vocab):
    with pytest.raises(ValueError, match="the question is empty"):
        vocab.encode_question("")
    for blank in (" ", " " * 29):
        with pytest.raises(ValueError, match="the question is blank"):
            vocab.encode_question(blank)


def test_a_very_long_question_is_not_repeated_in_full(vocab):
    question = "Aug 8, 2001" + "1" * 9_989
    with pytest.raises(ValueError) as caught:
        vocab.encode_question(question)
    message = str(caught.value)
    assert "'Aug 8, 2001" + "1" * 29 + "'…" in message  # the first 40 characters
    assert "is 10000 characters" in message and "at most 29" in message
    assert len(message) < 200


# --- data: the date file -------------------------------------------------------------------

def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Some Windows editors start a UTF-8 file with a BOM: it is not a character of line 1
    (it used to make line 1 one character longer, and line 2 was blamed)."""
    text = "".join(line + "\n" for line in BOOK_LINES)
    plain = load_dates(write(tmp_path / "plain.txt", text), test_size=0.25)
    bom = load_dates(write(tmp_path / "bom.txt", text, "utf-8-sig"), test_size=0.25)
    assert (tmp_path / "bom.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    for a, b in zip(plain[:2], bom[:2]):
        assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert plain[2].char_to_id == bom[2].char_to_id


def test_bytes_that_are_not_utf8_are_blamed_on_the_file_and_line(tmp_path):
    data = "".join(line + "\n" for line in BOOK_LINES).encode()
    data = data.replace(b"TUESDAY", b"TU\xc9SDAY")  # Latin-1, not UTF-8, on line 4
    with pytest.raises(ValueError, match=r"latin\.txt, line 4: not UTF-8 text \(the byte 0xc9"):
        load_dates(write(tmp_path / "latin.txt", data))


def test_a_line_starting_with_the_separator_is_refused(tmp_path):
    path = write(tmp_path / "nowidth.txt", "_1994-09-27\n_1993-02-10\n")
    with pytest.raises(ValueError, match=r"nowidth\.txt, line 1: .*starts with the separator "
                                         r"'_': its question is empty"):
        load_dates(path)
    path = write(tmp_path / "noanswer.txt", "september 27, 1994_\n")
    with pytest.raises(ValueError, match=r"noanswer\.txt, line 1: .*its answer is empty"):
        load_dates(path)


def test_an_answer_containing_the_separator_is_refused(tmp_path):
    lines = BOOK_LINES[:2] + ["2/10/93                      _1993_02-10"] + BOOK_LINES[3:]
    path = write(tmp_path / "under.txt", "".join(line + "\n" for line in lines))
    with pytest.raises(ValueError, match=r"under\.txt, line 3: the answer '1993_02-10' "
                                         r"contains the separator '_'"):
        load_dates(path)


def test_a_negative_seed_is_refused(tmp_path):
    path = write(tmp_path / "dates.txt", "".join(line + "\n" for line in BOOK_LINES))
    with pytest.raises(ValueError, match="seed must be >= 0, not -1"):
        load_dates(path, seed=-1)
    with pytest.raises(TypeError, match="seed must be a whole number >= 0, not 1.5"):
        load_dates(path, seed=1.5)
    with pytest.raises(ValueError, match="seed must be >= 0, not -1"):
        generate_dates(10, seed=-1)


# --- speed: $SEQATTN_BLAS_THREADS ----------------------------------------------------------

@pytest.mark.parametrize("bad", ["²", "٣", "1.5", "0x2"])
def test_thread_setting_accepts_ascii_digits_only(monkeypatch, bad):
    from seqattn import speed

    monkeypatch.setenv("SEQATTN_BLAS_THREADS", bad)
    with pytest.raises(ValueError, match=f"SEQATTN_BLAS_THREADS must be a whole number.*{bad!r}"):
        speed._blas_threads_setting()


def test_thread_setting_is_clamped_to_the_cores(monkeypatch):
    from seqattn import speed

    cores = speed.available_cores()
    monkeypatch.setenv("SEQATTN_BLAS_THREADS", "1000")
    with pytest.warns(RuntimeWarning, match=f"SEQATTN_BLAS_THREADS=1000 .* {cores} cores"):
        assert speed._blas_threads_setting() == cores
    monkeypatch.setenv("SEQATTN_BLAS_THREADS", str(cores))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert speed._blas_threads_setting() == cores


def test_a_bad_thread_setting_does_not_break_the_import():
    """`import seqattn` (and `make data`) works with a bad value: it warns and uses the
    default."""
    env = dict(os.environ, SEQATTN_BLAS_THREADS="abc")
    done = subprocess.run(
        [sys.executable, "-c", "import seqattn, seqattn.speed as s; print(s.BLAS_THREADS)"],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    from seqattn.speed import DEFAULT_BLAS_THREADS
    assert done.stdout.strip() == str(DEFAULT_BLAS_THREADS)
    assert "RuntimeWarning" in done.stderr and "'abc'; using the default" in done.stderr


def test_explicit_thread_counts_are_checked():
    from seqattn.speed import blas_threads

    with pytest.raises(ValueError, match="threads must be >= 1.*not 0"):
        blas_threads(0)
    with pytest.raises(TypeError, match="threads must be a whole number.*'2'"):
        blas_threads("2")


@pytest.mark.parametrize("cores, default", [(1, 1), (2, 1), (3, 2), (8, 2)])
def test_the_default_thread_count_follows_the_cores(cores, default):
    # one BLAS thread on 2 cores or fewer (make bench-threads measured why), else two
    code = (f"import os; os.sched_getaffinity = lambda pid: set(range({cores})); "
            "import seqattn.speed as s; print(s.DEFAULT_BLAS_THREADS, s.BLAS_THREADS)")
    env = {k: v for k, v in os.environ.items() if k != "SEQATTN_BLAS_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(default), str(default)]
