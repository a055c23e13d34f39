"""The files the book ships (made by `make checkpoint`) load and show what the book claims."""
import json

import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.checkpoint import load_params
from seqattn.data import default_data_path, load_dates
from seqattn.train import evaluate

DATA = default_data_path().parent
CHECKPOINT = DATA / "attention_seq2seq.npz"
COMPARISON = DATA / "comparison.json"


@pytest.fixture(scope="module")
def dates():
    return load_dates(default_data_path(), reverse=True)


def test_checkpoint_loads_and_scores_what_it_claims(dates):
    _, (x_test, t_test), vocab = dates
    model = AttentionSeq2seq(len(vocab), 16, 256)
    meta = load_params(model, CHECKPOINT)
    assert meta["class"] == "AttentionSeq2seq"
    assert meta["config"] == {"vocab_size": len(vocab), "wordvec_size": 16, "hidden_size": 256}
    accuracy = evaluate(model, x_test, t_test)
    # the recorded accuracy of the same weights; float32 kernels may flip a rare tie elsewhere
    assert accuracy == pytest.approx(meta["accuracy"][-1], abs=0.002)
    assert accuracy >= 0.99


def test_comparison_records_the_three_models():
    results = json.loads(COMPARISON.read_text())
    models = results["models"]
    assert set(models) == {"baseline", "peeky", "attention"}
    epochs = len(models["attention"]["accuracy"])
    iterations = 45000 // results["settings"]["batch_size"]
    for record in models.values():
        assert len(record["accuracy"]) == len(record["train_seconds"]) == epochs
        assert len(record["loss"]) == epochs * iterations
        assert all(0 <= a <= 1 for a in record["accuracy"])
    # what the book says of them: attention reaches 99% within 3 epochs, the baseline doesn't
    assert max(models["attention"]["accuracy"][:3]) >= 0.99
    assert models["baseline"]["accuracy"][-1] < 0.5
    checkpoint_meta_accuracy = np.load(CHECKPOINT)["__meta__"]
    assert json.loads(str(checkpoint_meta_accuracy))["accuracy"] == models["attention"]["accuracy"]
