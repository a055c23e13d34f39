"""The experiment record: question formats, resuming bit for bit, the runner, the summaries."""
import datetime
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from seqattn import experiment as ex
from seqattn.checkpoint import load_params
from seqattn.data import CASES, STYLES, format_question, question_format

# A run small enough for a test: 4 iterations of 32 an epoch, a tiny LSTM, 64 test questions.
TINY = dict(hidden_size=8, wordvec_size=4, batch_size=32, train_size=128, test_size=64,
            epochs=2, lr=0.01)
TINY_ARGS = ["--preset", "small", "--set"] + [f"{k}={json.dumps(v)}" for k, v in TINY.items()]

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("experiments_script",
                                              ROOT / "scripts" / "experiments.py")
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)


# --- question formats -----------------------------------------------------------------------

def test_question_format_inverts_format_question():
    rng = np.random.default_rng(0)
    for ordinal in rng.integers(datetime.date(1970, 1, 1).toordinal(),
                                datetime.date(2069, 12, 31).toordinal(), size=60):
        day = datetime.date.fromordinal(int(ordinal))
        for style in STYLES:
            for case in CASES:
                for zero_pad in (False, True):
                    question = format_question(day, style, case, zero_pad)
                    got_style, got_case = question_format(question)
                    # "May" is a whole month name and its own abbreviation: it counts as long
                    expected = "long" if style == "medium" and day.month == 5 else style
                    assert got_style == expected, question
                    assert got_case == ("none" if style == "short" else case), question


def test_question_format_refuses_what_is_no_date_question():
    for text in ["hello", "Friday 12", "9/7/94 Sep", ""]:
        with pytest.raises(ValueError):
            question_format(text)


def test_left_pad_moves_the_padding_to_the_front():
    (x, _), _, vocab = ex.run_data(ex.preset_settings("small"), "as-written")
    (x_left, _), _, _ = ex.run_data(ex.preset_settings("small"), "left-padded")
    for a, b in zip(x[:50], x_left[:50]):
        text = vocab.decode(a)
        assert vocab.decode(b) == text.rstrip(" ").rjust(len(text), " ")


def test_format_keys_read_reversed_questions_the_right_way_round():
    settings = ex.preset_settings("small")
    (x, _), _, vocab = ex.run_data(settings, "as-written")
    (x_r, _), _, vocab_r = ex.run_data(settings, "reversed")
    keys = ex.format_keys(x[:200], vocab)
    assert keys == ex.format_keys(x_r[:200], vocab_r)
    assert {k.split("/")[0] for k in keys} == set(STYLES)


# --- configs ----------------------------------------------------------------------------------

def test_config_names_round_trip_and_bad_ones_are_refused():
    for config in ex.grid(orders=ex.ORDERS):
        assert ex.Config.from_name(config.name) == config
    assert ex.Config("peeky", "as-written", 2).name == "peeky-as-written-seed2"
    for name in ["attention-reversed", "attention-backwards-seed0", "lstm-reversed-seed0",
                 "attention-reversed-seedx"]:
        with pytest.raises(ValueError):
            ex.Config.from_name(name)
    with pytest.raises(ValueError, match="seed"):
        ex.Config("attention", "reversed", -1)


def test_the_grid_comes_seed_by_seed():
    configs = ex.grid()
    assert len(configs) == 18
    assert [c.seed for c in configs] == [0] * 6 + [1] * 6 + [2] * 6


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="hiden_size"):
        ex.preset_settings("book", hiden_size=3)
    with pytest.raises(ValueError, match="preset"):
        ex.preset_settings("huge")


# --- one epoch and resuming -------------------------------------------------------------------

def tiny_run(config, settings=None):
    settings = settings or ex.preset_settings("small", **TINY)
    data = ex.run_data(settings, config.order)
    return ex.Run(config, settings, len(data[2])), data


def without_seconds(entry):
    return {k: v for k, v in entry.items() if not k.endswith("seconds")}


def test_an_epoch_records_consistent_figures():
    run, data = tiny_run(ex.Config("attention", "reversed", 0))
    entry = ex.train_epoch(run, data, threads=1)
    n_test = len(data[1][0])
    assert entry["epoch"] == 1 and run.epoch == 1
    assert len(entry["loss_curve"]) == 1  # 4 iterations: one window
    assert entry["loss"] == pytest.approx(entry["loss_curve"][0], abs=1e-5)
    assert sum(entry["correct"].values()) == round(entry["accuracy"] * n_test)
    assert all(0 <= c <= n_test for c in entry["correct_chars"])
    assert len(entry["correct_chars"]) == 10
    assert 0 < entry["grad_norm_median"] <= entry["grad_norm_max"]
    assert 0 <= entry["grad_norms_above_5"] <= 4
    # every answer has the same '-' at positions 5 and 8 (YYYY-MM-DD): most are learnt at once
    assert entry["loss"] < np.log(len(data[2]))


def test_a_resumed_run_continues_bit_for_bit(tmp_path):
    config = ex.Config("attention", "reversed", 3)
    straight, data = tiny_run(config)
    first = ex.train_epoch(straight, data, threads=1)
    straight.save_state(tmp_path / "state.npz")
    second = ex.train_epoch(straight, data, threads=1)

    resumed, _ = tiny_run(config)
    resumed.load_state(tmp_path / "state.npz")
    assert resumed.epoch == 1
    again = ex.train_epoch(resumed, data, threads=1)
    assert without_seconds(again) == without_seconds(second)
    assert all(np.array_equal(p, q) for p, q in zip(straight.model.params,
                                                    resumed.model.params))
    assert without_seconds(first) != without_seconds(second)


def test_a_state_of_another_run_is_refused(tmp_path):
    run, data = tiny_run(ex.Config("attention", "reversed", 0))
    ex.train_epoch(run, data, threads=1)
    run.save_state(tmp_path / "state.npz")
    other, _ = tiny_run(ex.Config("attention", "reversed", 1))
    with pytest.raises(ValueError, match="attention-reversed-seed0"):
        other.load_state(tmp_path / "state.npz")


# --- the runner -------------------------------------------------------------------------------

def run_grid(tmp_path, *extra, record="record.json", state="state"):
    return runner.main(TINY_ARGS + ["--jobs", "1", "--models", "baseline", "--seeds", "0",
                                    "--record", str(tmp_path / record),
                                    "--state-dir", str(tmp_path / state), *extra])


def same_arrays(path_a, path_b):
    a, b = np.load(path_a), np.load(path_b)
    return sorted(a.files) == sorted(b.files) and \
        all(np.array_equal(a[k], b[k]) for k in a.files if k != "__meta__")


def test_the_runner_records_every_epoch_and_resumes(tmp_path):
    whole = run_grid(tmp_path, record="whole.json", state="whole")
    assert set(whole["runs"]) == {"baseline-reversed-seed0", "baseline-as-written-seed0"}
    assert all(len(r["epochs"]) == 2 for r in whole["runs"].values())
    assert json.loads((tmp_path / "whole.json").read_text()) == whole
    # the runner saves and reloads every run between epochs: the same as training straight on
    straight, data = tiny_run(ex.Config("baseline", "reversed", 0))
    assert [without_seconds(ex.train_epoch(straight, data)) for _ in range(2)] == \
        [without_seconds(e) for e in whole["runs"]["baseline-reversed-seed0"]["epochs"]]

    # stopped after one epoch, then started again with two
    run_grid(tmp_path, "--set", "epochs=1")
    assert all(len(r["epochs"]) == 1 for r in ex.load_record(tmp_path / "record.json")
               ["runs"].values())
    resumed = run_grid(tmp_path)
    state = tmp_path / "state"
    for name, run in whole["runs"].items():
        assert [without_seconds(e) for e in resumed["runs"][name]["epochs"]] == \
               [without_seconds(e) for e in run["epochs"]]
        # the model and Adam's moments after two epochs, bit for bit
        assert same_arrays(state / f"{name}.npz", tmp_path / "whole" / f"{name}.npz")

    # a finished run needs no state (a fresh clone has none): its record is left as it is
    for path in state.glob("*.npz"):
        path.unlink()
    finished = ex.load_record(tmp_path / "record.json")
    assert run_grid(tmp_path)["runs"] == finished["runs"]  # seconds and all: nothing retrained

    # a lost state with epochs still to train: that run is trained again from the start, with
    # the same result
    record = ex.load_record(tmp_path / "record.json")
    record["runs"]["baseline-reversed-seed0"]["epochs"].pop()
    ex.write_json(tmp_path / "record.json", record)
    again = run_grid(tmp_path)
    assert [without_seconds(e) for e in again["runs"]["baseline-reversed-seed0"]["epochs"]] == \
           [without_seconds(e) for e in whole["runs"]["baseline-reversed-seed0"]["epochs"]]


def test_the_runner_refuses_a_record_with_other_settings(tmp_path):
    run_grid(tmp_path, "--set", "epochs=1")
    with pytest.raises(SystemExit, match="settings"):
        run_grid(tmp_path, "--set", "hidden_size=9")


def test_two_jobs_give_the_same_record_and_save_checkpoints(tmp_path):
    one = run_grid(tmp_path, record="one.json")
    path = tmp_path / "baseline-epoch1.npz"
    two = runner.main(TINY_ARGS + ["--jobs", "2", "--models", "baseline", "--seeds", "0",
                                   "--record", str(tmp_path / "two.json"),
                                   "--state-dir", str(tmp_path / "state2"),
                                   "--checkpoint", f"baseline-as-written-seed0:1:{path}"])
    for name, run in one["runs"].items():
        assert [without_seconds(e) for e in two["runs"][name]["epochs"]] == \
               [without_seconds(e) for e in run["epochs"]]
    model, data = tiny_run(ex.Config("baseline", "as-written", 0))
    meta = load_params(model.model, path)
    assert meta["epochs"] == 1 and meta["seed"] == 0 and meta["reversed"] is False
    assert meta["accuracy"] == two["runs"]["baseline-as-written-seed0"]["epochs"][0]["accuracy"]


def test_the_runner_refuses_bad_arguments(tmp_path, capsys):
    for bad in (["--set", "hidden=3"], ["--set", "hidden_size"], ["--jobs", "0"],
                ["--checkpoint", "attention-reversed-seed0:x"]):
        with pytest.raises(SystemExit):
            runner.main(["--record", str(tmp_path / "r.json"), *bad])
    assert "hidden" in capsys.readouterr().err


# --- reading the record -----------------------------------------------------------------------

def fake_record():
    """Two seeds of one model and order, with known numbers."""
    formats = {"long/title": 2, "short/none": 2}

    def epoch(i, accuracy, correct, loss):
        return {"epoch": i, "accuracy": accuracy, "correct": correct, "loss": loss,
                "loss_curve": [loss + 0.1, loss - 0.1], "train_seconds": 1.0}

    return {"data": {"test_formats": formats, "iterations_per_epoch": 30, "loss_window": 20},
            "runs": {
                "peeky-reversed-seed0": {"epochs": [
                    epoch(1, 0.25, {"long/title": 1, "short/none": 0}, 2.0),
                    epoch(2, 0.5, {"long/title": 2, "short/none": 0}, 1.0)]},
                "peeky-reversed-seed1": {"epochs": [
                    epoch(1, 0.75, {"long/title": 1, "short/none": 2}, 3.0)]},
                "peeky-as-written-seed0": {"epochs": []}}}


def test_series_and_summaries_use_the_epochs_every_seed_reached():
    record = fake_record()
    assert ex.series(record, "peeky", "reversed").tolist() == [[0.25], [0.75]]
    mean, low, high = ex.summarize(record)[("peeky", "reversed")]
    assert (mean.tolist(), low.tolist(), high.tolist()) == ([0.5], [0.25], [0.75])
    assert ("peeky", "as-written") not in ex.summarize(record)  # no epoch yet
    with pytest.raises(KeyError, match="baseline"):
        ex.series(record, "baseline", "reversed")


def test_format_accuracy_groups_the_counts():
    by_style = ex.format_accuracy(fake_record(), "peeky", "reversed")
    assert by_style["long"].tolist() == [[0.5], [0.5]]
    assert by_style["short"].tolist() == [[0.0], [1.0]]
    by_case = ex.format_accuracy(fake_record(), "peeky", "reversed", by="case")
    assert set(by_case) == {"title", "none"}


def test_loss_curves_place_each_point_at_its_last_iteration():
    curves, ends = ex.loss_curves(fake_record(), "peeky", "reversed")
    assert curves.tolist() == [[2.1, 1.9], [3.1, 2.9]]
    assert ends.tolist() == [20, 30]  # 30 iterations an epoch: windows 1-20 and 21-30


def test_first_below_and_first_epoch_reaching_find_the_first_and_say_never():
    record = fake_record()
    assert ex.first_below(record, "peeky", "reversed", 2.0) == [30, None]
    assert ex.first_below(record, "peeky", "reversed", 3.0) == [20, 30]
    assert ex.first_epoch_reaching(record, "peeky", "reversed", 0.5) == [None, 1]


def test_plot_record_draws_the_mean_and_the_range_of_the_seeds():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from seqattn.plot import plot_record

    axes = plot_record(fake_record(), models=["peeky"], orders=["reversed"], plateau=1.1)
    loss_ax, acc_ax = axes[:, 0]
    assert acc_ax.lines[0].get_ydata().tolist() == [50.0]  # mean of 25% and 75%, in percent
    band = acc_ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 25.0 and band.max() == 75.0
    assert loss_ax.lines[0].get_ydata().tolist() == pytest.approx([2.6, 2.4])
    # its own figure: one legend for all the panels, below them
    (legend,) = acc_ax.figure.legends
    assert "2 seeds" in legend.get_texts()[0].get_text()
    plt.close("all")


def test_table_prints_the_mean_and_range_of_each_epoch():
    lines = ex.table(fake_record(), models=["peeky"], orders=["reversed"]).splitlines()
    assert lines[0].split() == ["accuracy", "(%)", "epoch", "1"]
    assert lines[1].split() == ["peeky,", "reversed", "50.0"]
    assert lines[2].split() == ["range", "of", "2", "seeds", "25.0-75.0"]
    loss = ex.table(fake_record(), "loss", models=["peeky"], orders=["reversed"])
    assert loss.splitlines()[1].split()[-1] == "2.500"


def test_checkpoints_carry_the_vocabulary_of_their_data(tmp_path):
    from seqattn.checkpoint import CheckpointError, load_model, read_meta
    settings = ex.preset_settings("small", **TINY)
    name = ex.Config("attention", "reversed", 0).name
    ex.work_one_epoch(name, settings, tmp_path, checkpoints={1: [tmp_path / "r.npz"]})
    model, vocab = load_model(tmp_path / "r.npz")
    assert vocab.to_dict() == ex.run_data(settings, "reversed")[2].to_dict() and vocab.reversed
    # no Vocabulary describes left-padded questions: such a checkpoint has none
    name = ex.Config("baseline", "left-padded", 0).name
    ex.work_one_epoch(name, settings, tmp_path, checkpoints={1: [tmp_path / "l.npz"]})
    assert "vocab" not in read_meta(tmp_path / "l.npz")
    with pytest.raises(CheckpointError, match="without its vocabulary"):
        load_model(tmp_path / "l.npz")


def test_a_run_needs_a_whole_seed():
    with pytest.raises(ValueError, match="seed must be >= 0, not -1"):
        ex.Config("peeky", "reversed", -1)
    with pytest.raises(TypeError, match="seed must be a whole number >= 0, not 1.5"):
        ex.Config("peeky", "reversed", 1.5)


def test_the_runner_refuses_an_epoch_that_skips_ahead_of_the_record(tmp_path, monkeypatch):
    # a state written by another process (a worker of a killed run that outlived it) made a
    # run train epoch 3 while its record had none: the record must not take it as epoch 1
    real = ex.work_one_epoch

    def ahead(name, *args, **kwargs):
        name, entry = real(name, *args, **kwargs)
        return name, dict(entry, epoch=entry["epoch"] + 2)

    monkeypatch.setattr(runner.ex, "work_one_epoch", ahead)
    with pytest.raises(SystemExit, match="trained epoch 3 but the record has only 0"):
        run_grid(tmp_path)
    record = ex.load_record(tmp_path / "record.json")
    assert all(run["epochs"] == [] for run in record["runs"].values())
