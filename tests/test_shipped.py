"""The files the book ships (made by `make experiments` and `make experiments-small`) are whole,
agree with each other, and the checkpoints score what the record says."""
import numpy as np
import pytest

from seqattn import experiment as ex
from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.checkpoint import load_model, read_meta
from seqattn.data import default_data_path, load_dates
from seqattn.train import evaluate

DATA = default_data_path().parent
SHIPPED_RUN = "attention-reversed-seed0"
CHECKPOINTS = {1: DATA / "attention_seq2seq_epoch1.npz", 2: DATA / "attention_seq2seq_epoch2.npz",
               10: DATA / "attention_seq2seq.npz"}
SMALL_RECORDS = {  # record: (models, orders, changed settings)
    "experiments-small.json": (ex.MODELS, ex.ORDERS, {}),
    "experiments-small-noclip.json": (["attention"], ["reversed"], {"max_grad": None}),
    "experiments-small-h64.json": (["attention"], ["reversed"], {"hidden_size": 64}),
}


PART3_MODELS = ["luong_scaled", "luong_additive", "bahdanau_dot", "bahdanau_additive", "masked",
                "bilstm", "deep2", "deep2_skip"]  # make experiments-part3
PART3_SHIPPED = ["masked", "bilstm", "luong_additive", "bahdanau_additive"]
TRANSFORMER_SIZES = ["transformer", "transformer_d32", "transformer_d128", "transformer_l1",
                     "transformer_l3", "transformer_h1"]  # make experiments-small-transformer


@pytest.fixture(scope="module")
def dates():
    return load_dates(default_data_path(), reverse=True)


def check_whole(record, configs, settings, test_questions):
    assert record["settings"] == settings
    assert record["data"]["test_questions"] == test_questions
    assert sum(record["data"]["test_formats"].values()) == test_questions
    per_epoch = record["data"]["iterations_per_epoch"]
    assert per_epoch == record["data"]["train_questions"] // settings["batch_size"]
    assert set(record["runs"]) == {c.name for c in configs}
    for name, run in record["runs"].items():
        epochs = run["epochs"]
        assert [e["epoch"] for e in epochs] == list(range(1, settings["epochs"] + 1)), name
        for e in epochs:
            assert len(e["loss_curve"]) == -(-per_epoch // record["data"]["loss_window"])
            assert sum(e["correct"].values()) == round(e["accuracy"] * test_questions)
            assert all(0 <= c <= test_questions for c in e["correct_chars"])
            assert e["train_seconds"] > 0


def test_the_book_record_is_the_whole_grid():
    record = ex.load_record("book")
    check_whole(record, ex.grid(), ex.PRESETS["book"], 5000)


@pytest.mark.parametrize("name", SMALL_RECORDS)
def test_the_small_records_are_whole(name):
    models, orders, changes = SMALL_RECORDS[name]
    record = ex.load_record(DATA / name)
    check_whole(record, ex.grid(models, orders), ex.preset_settings("small", **changes), 1000)


def test_the_part3_records_are_whole():
    record = ex.load_record(DATA / "experiments-part3.json")
    check_whole(record, ex.grid(PART3_MODELS, ["reversed"]),
                ex.preset_settings("book", epochs=5), 5000)
    small = ex.load_record(DATA / "experiments-small-part3.json")
    configs = (ex.grid(["bahdanau_dot", "masked", "bilstm"], ["reversed", "as-written"])
               + ex.grid(["deep4", "deep4_skip"], ["reversed"]))
    check_whole(small, configs, ex.PRESETS["small"], 1000)


def test_the_transformer_records_are_whole():
    record = ex.load_record(DATA / "experiments-transformer.json")
    check_whole(record, ex.grid(["transformer"], ["as-written"]),
                ex.preset_settings("book", epochs=10), 5000)
    small = ex.load_record(DATA / "experiments-small-transformer.json")
    configs = (ex.grid(TRANSFORMER_SIZES, ["as-written"])
               + ex.grid(["transformer"], ["reversed"]))
    check_whole(small, configs, ex.PRESETS["small"], 1000)


def check_scores_what_the_record_says(path, model_name, order, record_name, epochs, dates):
    """A Part 3 or Part 4 checkpoint: its run, epochs, vocabulary and config are the record's,
    and it scores on the test questions what the record says (float32 kernels may flip a rare
    close call)."""
    _, (x_test, t_test), vocab = dates
    model, stored = load_model(path)
    meta = read_meta(path)
    run = f"{model_name}-{order}-seed0"
    assert meta["run"] == run and meta["epochs"] == epochs and stored.to_dict() == vocab.to_dict()
    assert model.config == ex.build_model(model_name, len(vocab), 16, 256,
                                          pad_id=vocab.char_to_id[" "]).config
    recorded = ex.load_record(DATA / record_name)["runs"][run]["epochs"][epochs - 1]
    assert meta["accuracy"] == recorded["accuracy"]
    assert evaluate(model, x_test, t_test) == pytest.approx(recorded["accuracy"], abs=0.002)


def test_the_shipped_transformer_scores_what_the_record_says():
    dates_as_written = load_dates(default_data_path(), reverse=False)
    assert read_meta(DATA / "transformer.npz")["class"] == "TransformerSeq2seq"
    check_scores_what_the_record_says(DATA / "transformer.npz", "transformer", "as-written",
                                      "experiments-transformer.json", 10, dates_as_written)


@pytest.mark.parametrize("name", PART3_SHIPPED)
def test_each_part3_checkpoint_scores_what_the_record_says(dates, name):
    check_scores_what_the_record_says(DATA / "part3" / f"{name}.npz", name, "reversed",
                                      "experiments-part3.json", 5, dates)


@pytest.mark.parametrize("epoch", CHECKPOINTS)
def test_each_shipped_checkpoint_scores_what_the_record_says(dates, epoch):
    _, (x_test, t_test), vocab = dates
    model, stored = load_model(CHECKPOINTS[epoch])  # with the vocabulary it was trained with
    assert type(model) is AttentionSeq2seq and model.vocab is stored
    assert model.config == {"vocab_size": 59, "wordvec_size": 16, "hidden_size": 256}
    assert stored.to_dict() == vocab.to_dict() and stored.reversed is True
    meta = read_meta(CHECKPOINTS[epoch])
    assert meta["class"] == "AttentionSeq2seq" and meta["run"] == SHIPPED_RUN
    assert meta["epochs"] == epoch and meta["reversed"] is True
    assert meta["settings"] == ex.PRESETS["book"]
    recorded = ex.load_record("book")["runs"][SHIPPED_RUN]["epochs"][epoch - 1]["accuracy"]
    assert meta["accuracy"] == recorded
    # the same weights on the same questions; float32 kernels may flip a rare close call
    assert evaluate(model, x_test, t_test) == pytest.approx(recorded, abs=0.002)


def test_the_shipped_model_refuses_questions_in_the_wrong_order(dates):
    model, vocab = load_model(CHECKPOINTS[10])
    _, (x_test, t_test), _ = load_dates(default_data_path(), reverse=False)
    # the same questions, written as-is: the reversed model gets 1 of the 5,000 right on them
    with pytest.raises(ValueError, match=r"questions in x have padding at the end.*reads "
                                         r"questions reversed.*reverse=True"):
        evaluate(model, x_test, t_test)
    x_rev, t_rev = dates[1]
    with pytest.raises(ValueError, match="ids outside"):  # was an IndexError
        evaluate(model, np.where(x_rev == x_rev.max(), 59, x_rev)[:50], t_rev[:50])
    with pytest.raises(ValueError, match="questions of 28 characters.*pads them to 29"):
        evaluate(model, x_rev[:50, 1:], t_rev[:50])
    assert evaluate(model, x_rev[:200], t_rev[:200]) == 1.0


def test_data_stays_small():
    # the data set, chapter 8's three checkpoints, Part 3's four and the Transformer (for the
    # maps) and the records
    total = sum(f.stat().st_size for f in DATA.rglob("*") if f.is_file())
    assert total < 24 * 2**20, f"data/ holds {total / 2**20:.1f} MB"


def test_the_shipped_bench_figures_time_every_model_of_the_comparison():
    # chapters 9, 11, 12 and 14 read their seconds per iteration from bench/results.json
    import json

    from seqattn.speed import bench_iteration_seconds

    figures = json.loads((DATA.parent / "bench" / "results.json").read_text())
    seconds = bench_iteration_seconds(figures, threads=1)
    assert set(ex.MODELS) | set(PART3_MODELS) | {"transformer"} <= set(seconds)
    # chapter 14 compares the Transformer with AttentionSeq2seq timed in the same rounds
    beside = figures["transformers"]["transformer"]
    assert {"attention|1", "attention|2", "floor|1", "ours|1"} <= set(beside["iteration"])
    assert set(beside["attention_evaluation"]) == set(beside["evaluation"]) == {"1", "2"}
    assert all(0.01 < s < 10 for s in seconds.values())
