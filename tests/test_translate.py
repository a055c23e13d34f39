"""translate(): the answer, attention map and probabilities of one question, and clear errors
for bad input and for a vocabulary that does not fit the model."""
import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.checkpoint import load_model
from seqattn.data import Vocabulary, default_data_path, load_dates
from seqattn.functions import softmax
from seqattn.peeky_seq2seq import PeekySeq2seq
from seqattn.seq2seq import Seq2seq
from seqattn.translate import Translation, translate

SHIPPED = default_data_path().parent / "attention_seq2seq.npz"

CHARS = "0123456789-/, abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(params=[False, True], ids=["forward", "reversed"])
def vocab(request):
    return Vocabulary(CHARS, question_width=29, answer_width=10, reversed=request.param)


def test_answer_and_attention(vocab):
    model = AttentionSeq2seq(len(vocab), 8, 16, seed=0)
    result = translate(model, vocab, "Aug 8, 2001")
    assert isinstance(result, Translation)
    answer, attention, probabilities = result
    assert (answer, attention) == (result.answer, result.attention)
    assert isinstance(answer, str) and len(answer) == 10
    assert probabilities.shape == (10,) and ((probabilities > 0) & (probabilities <= 1)).all()
    assert attention.shape == (10, 29)
    np.testing.assert_allclose(attention.sum(axis=1), 1, rtol=1e-5)

    # columns follow the question as written, whichever way the model reads it
    x = vocab.encode_question("Aug 8, 2001")[None]
    ids, weights = model.generate(x, vocab.start_id, 10)
    assert answer == vocab.decode(ids[0])
    expected = weights[0, :, ::-1] if vocab.reversed else weights[0]
    np.testing.assert_array_equal(attention, expected)


def test_model_without_attention(vocab):
    answer, attention, probabilities = translate(Seq2seq(len(vocab), 8, 16), vocab,
                                                 "Aug 8, 2001")
    assert len(answer) == 10 and attention is None and probabilities.shape == (10,)


def test_unknown_characters_are_named(vocab):
    model = AttentionSeq2seq(len(vocab), 8, 16)
    with pytest.raises(ValueError, match=r"not in the vocabulary: '#', 'é'"):
        translate(model, vocab, "Août 8, 2001 #é")


def test_too_wide_states_the_limit(vocab):
    model = AttentionSeq2seq(len(vocab), 8, 16)
    with pytest.raises(ValueError, match=r"30 characters.*at most 29"):
        translate(model, vocab, "Wednesday, September 27, 19944")


def test_empty_and_blank_questions_are_refused(vocab):
    model = AttentionSeq2seq(len(vocab), 8, 16)
    for question in ("", "   "):
        with pytest.raises(ValueError, match="empty|blank"):
            translate(model, vocab, question)


@pytest.mark.parametrize("cls", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
def test_probabilities_are_the_softmax_of_each_decoding_step(vocab, cls):
    model = cls(len(vocab), 8, 16, seed=3)
    question = "Aug 8, 2001"
    answer, _, probabilities = translate(model, vocab, question)
    # decode again, one step at a time, keeping the softmax of every step's scores
    h = model.encoder.forward(vocab.encode_question(question)[None])
    model.decoder.start(h)
    x, ids, expected = np.array([[vocab.start_id]]), [], []
    for _ in range(10):
        p = softmax(model.decoder._step(x, h)[0, 0].astype(np.float64))
        x = np.array([[p.argmax()]])
        ids.append(p.argmax())
        expected.append(p.max())
    assert vocab.decode(ids) == answer
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)
    assert probabilities.dtype == np.float64 and probabilities.max() < 0.5  # untrained: unsure


@pytest.fixture(scope="module")
def shipped():
    return load_model(SHIPPED)


def test_the_shipped_model_is_sure_of_dates_and_not_of_hello(shipped):
    model, vocab = shipped
    for question, truth in [("Aug 8, 2001", "2001-08-08"), ("september 27, 1994", "1994-09-27"),
                            ("2/10/93", "1993-02-10"), ("TUESDAY, SEPTEMBER 25, 1984",
                                                        "1984-09-25")]:
        answer, _, probabilities = translate(model, vocab, question)
        assert answer == truth and probabilities.min() > 0.99, (question, probabilities)
    # still ten characters that look like a date, but some of them close calls (0.53 measured)
    answer, attention, probabilities = translate(model, vocab, "hello")
    assert len(answer) == 10 and attention.shape == (10, 29)
    assert probabilities.min() < 0.7 and (probabilities < 0.9).sum() >= 3


def test_translate_refuses_a_vocabulary_that_does_not_fit(shipped):
    model, vocab = shipped
    _, _, as_written = load_dates(default_data_path(), reverse=False)
    with pytest.raises(ValueError, match=r"reads questions as written, the model reversed "
                                         r"\(load_dates\(\.\.\., reverse=True\)\)"):
        translate(model, as_written, "Aug 8, 2001")  # it would answer 2001-08-08 no more
    one_more = Vocabulary(CHARS, question_width=29, answer_width=10, reversed=True)
    for m in (model, AttentionSeq2seq(len(vocab), 16, 32)):  # with or without model.vocab
        with pytest.raises(ValueError, match="67 characters but the AttentionSeq2seq was "
                                             "built for 59"):
            translate(m, one_more, "Aug 8, 2001")  # was an IndexError or KeyError
