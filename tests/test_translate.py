"""translate(): the answer and attention map of one question, and clear errors for bad input."""
import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.data import Vocabulary
from seqattn.seq2seq import Seq2seq
from seqattn.translate import translate

CHARS = "0123456789-/, abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(params=[False, True], ids=["forward", "reversed"])
def vocab(request):
    return Vocabulary(CHARS, question_width=29, answer_width=10, reversed=request.param)


def test_answer_and_attention(vocab):
    model = AttentionSeq2seq(len(vocab), 8, 16, seed=0)
    answer, attention = translate(model, vocab, "Aug 8, 2001")
    assert isinstance(answer, str) and len(answer) == 10
    assert attention.shape == (10, 29)
    np.testing.assert_allclose(attention.sum(axis=1), 1, rtol=1e-5)

    # columns follow the question as written, whichever way the model reads it
    x = vocab.encode_question("Aug 8, 2001")[None]
    ids, weights = model.generate(x, vocab.start_id, 10)
    assert answer == vocab.decode(ids[0])
    expected = weights[0, :, ::-1] if vocab.reversed else weights[0]
    np.testing.assert_array_equal(attention, expected)


def test_model_without_attention(vocab):
    answer, attention = translate(Seq2seq(len(vocab), 8, 16), vocab, "Aug 8, 2001")
    assert len(answer) == 10 and attention is None


def test_unknown_characters_are_named(vocab):
    model = AttentionSeq2seq(len(vocab), 8, 16)
    with pytest.raises(ValueError, match=r"not in the vocabulary: '#', 'é'"):
        translate(model, vocab, "Août 8, 2001 #é")


def test_too_wide_states_the_limit(vocab):
    model = AttentionSeq2seq(len(vocab), 8, 16)
    with pytest.raises(ValueError, match=r"30 characters.*at most 29"):
        translate(model, vocab, "Wednesday, September 27, 19944")
