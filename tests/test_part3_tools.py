"""Part 3's plumbing: the variants in the runner, in checkpoints, in the product count, and
records merged for comparison."""
from collections import Counter

import numpy as np
import pytest

from seqattn import CheckpointError, load_model, save_params
from seqattn import experiment as ex
from seqattn.attention_variants import VARIANTS, AttentionVariant
from seqattn.checkpoint import read_meta
from seqattn.data import Vocabulary
from seqattn.speed import (gflop, iteration_products, lstm_products, transformer_products,
                           variant_products)
from seqattn.transformer import TRANSFORMERS

SIZES = (128, 29, 10, 59, 16, 256)  # N, T_in, T_out, V, D, H


def test_the_default_variant_multiplies_what_attention_seq2seq_multiplies():
    assert Counter(variant_products({}, *SIZES)) == Counter(iteration_products("attention", *SIZES))
    assert Counter(variant_products(VARIANTS["masked"], *SIZES)) == \
        Counter(variant_products({}, *SIZES))


def test_each_option_adds_or_removes_the_products_it_should():
    N, T_in, T_out, V, D, H = SIZES
    base = gflop(variant_products({}, *SIZES))
    # a second layer: one more LSTM (H -> H) in the encoder and one in the decoder
    extra = gflop(lstm_products(N, T_in, H, H, False) + lstm_products(N, T_out, H, H, True))
    assert gflop(variant_products(VARIANTS["deep2"], *SIZES)) == pytest.approx(base + extra)
    # the bidirectional encoder: two LSTMs of H/2 instead of one of H
    bi = gflop(variant_products(VARIANTS["bilstm"], *SIZES))
    assert bi == pytest.approx(base - gflop(lstm_products(N, T_in, D, H, False))
                               + 2 * gflop(lstm_products(N, T_in, D, H // 2, False)))
    # the additive score: keys projected once (and back twice), queries per step
    add = gflop(variant_products(VARIANTS["luong_additive"], *SIZES)) - base
    assert add > 3 * 2 * N * T_in * H * H / 1e9
    # Bahdanau: T_out separate steps, each an LSTM cell reading D + H
    bahdanau = variant_products(VARIANTS["bahdanau_dot"], *SIZES)
    assert bahdanau.count((1, N, D + H, 4 * H, False, False)) == T_out
    # per step, one query: its scores q @ hs^T, and the weighted sum's da = dc @ hs^T
    assert bahdanau.count((N, 1, H, T_in, False, True)) == 2 * T_out


def test_training_products_and_model_cost_know_every_model_by_name():
    N, T_in, T_out, V, D, H = SIZES
    for name in ex.ALL_MODELS:
        if name in ex.MODELS:
            expected = iteration_products(name, *SIZES)
        elif name in TRANSFORMERS:
            expected = transformer_products(N, T_in, T_out, V, **TRANSFORMERS[name])
        else:
            expected = variant_products(VARIANTS[name], *SIZES)
        assert ex.training_products(name, *SIZES) == expected, name
        params, flops = ex.model_cost(name, V, T_in, T_out, N, D, H)
        model = ex.build_model(name, V, D, H, pad_id=0)
        assert params == sum(p.size for p in model.params) and flops == gflop(expected), name
    # the figures chapters 9, 12 and 14 print (V = 59: the book's 59 characters)
    assert ex.model_cost("attention", V, T_in, T_out) == (591_259, pytest.approx(8.6214, abs=1e-4))
    assert ex.model_cost("transformer", V, T_in, T_out) == (244_731,
                                                            pytest.approx(3.7062, abs=1e-4))
    assert ex.model_cost("deep2", V, T_in, T_out)[0] == 591_259 + 2 * 4 * 256 * 513
    with pytest.raises(ValueError, match="unknown model 'bahdanau-dot'"):
        ex.training_products("bahdanau-dot", *SIZES)


def test_the_runner_knows_the_variants_by_name():
    for name in VARIANTS:
        config = ex.Config.from_name(f"{name}-reversed-seed2")
        assert (config.model, config.order, config.seed) == (name, "reversed", 2)
    with pytest.raises(ValueError, match="unknown model 'bahdanau-dot'"):
        ex.Config("bahdanau-dot", "reversed", 0)
    # the default grid is still chapter 7's three models
    assert {c.model for c in ex.grid()} == set(ex.MODELS)
    assert [c.model for c in ex.grid(["deep2", "masked", "attention"], ["reversed"], [0])] == \
        ["attention", "masked", "deep2"]


def test_a_run_of_a_variant_saves_and_resumes_its_state(tmp_path):
    settings = ex.preset_settings("small", train_size=256, test_size=64, hidden_size=8,
                                  wordvec_size=4, batch_size=64)
    data = ex.run_data(settings, "reversed")
    pad = data[2].char_to_id[" "]
    name = "bilstm-reversed-seed0"
    straight = ex.Run(ex.Config.from_name(name), settings, len(data[2]), pad_id=pad)
    first = ex.train_epoch(straight, data)
    second = ex.train_epoch(straight, data)
    resumed = ex.Run(ex.Config.from_name(name), settings, len(data[2]), pad_id=pad)
    ex.train_epoch(resumed, data)
    resumed.save_state(tmp_path / "state.npz")
    again = ex.Run(ex.Config.from_name(name), settings, len(data[2]), pad_id=pad)
    again.load_state(tmp_path / "state.npz")
    assert ex.train_epoch(again, data)["loss"] == second["loss"] != first["loss"]
    for p, q in zip(again.model.params, straight.model.params):
        np.testing.assert_array_equal(p, q)


def _vocab():
    return Vocabulary("0123456789-/ ,ADJFMNOSabcehgilnoprstuvy", 29, 10, reversed=True)


@pytest.mark.parametrize("name", ["masked", "bilstm", "deep2_skip", "bahdanau_additive"])
def test_load_model_rebuilds_a_variant(tmp_path, name):
    vocab = _vocab()
    model = ex.build_model(name, len(vocab), 4, 6, seed=3, pad_id=vocab.char_to_id[" "])
    save_params(model, tmp_path / "m.npz", vocab=vocab)
    again, _ = load_model(tmp_path / "m.npz")
    assert type(again) is AttentionVariant and again.config == model.config
    x = vocab.encode_question("Aug 8, 2001")[None, :]
    ids, w = model.generate(x, vocab.start_id, 10)
    ids2, w2 = again.generate(x, vocab.start_id, 10)
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_array_equal(w, w2)


def test_load_model_refuses_a_variant_config_that_does_not_build(tmp_path):
    vocab = _vocab()
    model = ex.build_model("masked", len(vocab), 4, 6, pad_id=0)
    path = tmp_path / "m.npz"
    for change, message in [({"placement": "sideways"}, "placement must be one of"),
                            ({"layers": 10**6}, "larger than"),
                            ({"layers": 0}, "layers 0 is not a whole number"),
                            ({"mask": "yes"}, "mask and skip are True or False")]:
        model.config = {**model.config, **change}
        save_params(model, path, vocab=vocab)
        with pytest.raises(CheckpointError, match=message):
            load_model(path)
        model.config = {k: v for k, v in read_meta(path)["config"].items()}
        model.config.update({"placement": "luong", "layers": 1, "mask": True})
    model.config = {k: v for k, v in model.config.items() if k != "skip"}
    save_params(model, path, vocab=vocab)
    with pytest.raises(CheckpointError, match="the options"):
        load_model(path)


def _record(runs, **settings):
    return {"settings": {**ex.PRESETS["book"], **settings}, "data": {"test_formats": {"a": 1}},
            "runs": {name: {"epochs": [{"epoch": 1, "accuracy": acc}]}
                     for name, acc in runs.items()}}


def test_merge_records_joins_runs_and_refuses_what_cannot_be_compared():
    a = _record({"attention-reversed-seed0": 0.5})
    b = _record({"masked-reversed-seed0": 0.7}, epochs=5)
    merged = ex.merge_records(a, b)
    assert set(merged["runs"]) == {"attention-reversed-seed0", "masked-reversed-seed0"}
    assert merged["settings"]["epochs"] == 10 and a["runs"] == {
        "attention-reversed-seed0": {"epochs": [{"epoch": 1, "accuracy": 0.5}]}}
    assert ex.series(merged, "masked", "reversed").tolist() == [[0.7]]
    with pytest.raises(ValueError, match="other settings"):
        ex.merge_records(a, _record({"masked-reversed-seed0": 0.7}, hidden_size=64))
    with pytest.raises(ValueError, match="in two of the records"):
        ex.merge_records(a, a)


def test_bench_iteration_seconds_reads_both_sections_and_refuses_what_is_missing():
    from seqattn.speed import bench_iteration_seconds

    figures = {"results": {"attention": {"iteration": {"ours|1": 0.15, "floor|1": 0.11,
                                                       "ours|2": 0.10}}},
               "variants": {"masked": {"iteration": {"ours|1": 0.14, "ours|2": 0.09}}}}
    assert bench_iteration_seconds(figures) == {"attention": 0.15, "masked": 0.14}
    assert bench_iteration_seconds(figures, threads=2) == {"attention": 0.10, "masked": 0.09}
    with pytest.raises(ValueError, match="did not time 'attention' with 3 BLAS"):
        bench_iteration_seconds(figures, threads=3)
    with pytest.raises(ValueError, match="not the figures of make bench"):
        bench_iteration_seconds({"variants": figures["variants"]})
