"""Checkpoints: round trip, the stored vocabulary and load_model, clear errors for corrupt,
truncated, crafted and mismatched files (refused before they allocate or change anything),
saves that leave no litter, and check_fits."""
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from contextlib import nullcontext

import numpy as np
import pytest

from seqattn import checkpoint
from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.checkpoint import (CheckpointError, check_fits, load_model, load_params,
                                read_checkpoint, read_meta, save_arrays, save_params)
from seqattn.data import Vocabulary
from seqattn.peeky_seq2seq import PeekySeq2seq
from seqattn.seq2seq import Seq2seq

V, D, H = 7, 3, 5


def same_params(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.params, b.params))


@pytest.fixture
def saved(tmp_path):
    model = AttentionSeq2seq(V, D, H, seed=1)
    path = tmp_path / "model.npz"
    save_params(model, path, epochs=3)
    return model, path


def test_round_trip(saved):
    model, path = saved
    other = AttentionSeq2seq(V, D, H, seed=2)
    assert not same_params(model, other)
    meta = load_params(other, path)
    assert same_params(model, other)
    assert meta == {"class": "AttentionSeq2seq", "epochs": 3,
                    "config": {"vocab_size": V, "wordvec_size": D, "hidden_size": H}}
    assert other.params[0].dtype == np.float32


def test_no_pickle_inside(saved):
    _, path = saved
    with np.load(path, allow_pickle=False) as f:  # would raise on an object array
        assert set(f.files) == set(AttentionSeq2seq(V, D, H).param_names) | {"__meta__"}


def test_mismatched_shape_names_the_parameter(saved):
    _, path = saved
    bigger = AttentionSeq2seq(V, D, H + 1)
    before = [p.copy() for p in bigger.params]
    with pytest.raises(CheckpointError, match=r"encoder\.lstm\.Wx.*\(3, 20\).*\(3, 24\)"):
        load_params(bigger, path)
    assert all(np.array_equal(p, q) for p, q in zip(before, bigger.params))  # untouched


def test_mismatched_names_are_listed(saved):
    _, path = saved
    peeky = PeekySeq2seq(V, D, H)
    peeky.param_names = [n.replace("affine", "output") for n in peeky.param_names]
    with pytest.raises(CheckpointError, match=r"decoder\.output\.W.*decoder\.affine\.W"):
        load_params(peeky, path)


def test_truncated_file_names_the_file(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.npz.*truncated or corrupt"):
        load_params(AttentionSeq2seq(V, D, H), path)


def test_corrupt_file_names_the_file(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[200:260] = b"\xff" * 60  # inside the first stored array
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.npz"):
        load_params(AttentionSeq2seq(V, D, H), path)


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.npz"):
        read_checkpoint(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(CheckpointError, match="plain.npz.*__meta__"):
        read_checkpoint(plain)
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "missing.npz")


def test_failed_save_keeps_the_previous_file(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_params(AttentionSeq2seq(V, D, H, seed=9), path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["model.npz"]  # no temporary file left behind
    assert zipfile.is_zipfile(path)


def test_saved_file_has_ordinary_permissions(saved):
    _, path = saved
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


# --- checkpoints carry their vocabulary: load_model ---------------------------------------------

VOCAB = Vocabulary("abcde", question_width=6, answer_width=4)  # a b c d e, " " and "_": V = 7


@pytest.mark.parametrize("cls", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
def test_load_model_returns_a_ready_model_and_its_vocabulary(tmp_path, cls):
    model = cls(V, D, H, seed=1)
    save_params(model, tmp_path / "m.npz", vocab=VOCAB, epochs=3)
    loaded, vocab = load_model(tmp_path / "m.npz")
    assert type(loaded) is cls and loaded.config == model.config and same_params(model, loaded)
    assert loaded.params[0].dtype == np.float32
    assert vocab.to_dict() == VOCAB.to_dict() and vocab.char_to_id == VOCAB.char_to_id
    assert loaded.vocab is vocab and vocab.reversed is False
    assert read_meta(tmp_path / "m.npz")["epochs"] == 3
    x = VOCAB.encode_question("abc")[None]
    out, again = model.generate(x, VOCAB.start_id, 4), loaded.generate(x, VOCAB.start_id, 4)
    for a, b in zip(out if isinstance(out, tuple) else [out], again if isinstance(again, tuple)
                    else [again]):
        np.testing.assert_array_equal(a, b)


def test_load_model_keeps_the_dtype_and_a_loaded_model_saves_its_vocabulary(tmp_path):
    reversed_vocab = Vocabulary("abcde", question_width=6, answer_width=4, reversed=True)
    model = AttentionSeq2seq(V, D, H, seed=1, dtype=np.float64)
    save_params(model, tmp_path / "a.npz", vocab=reversed_vocab)
    loaded, vocab = load_model(tmp_path / "a.npz")
    assert loaded.params[0].dtype == np.float64 and vocab.reversed is True
    save_params(loaded, tmp_path / "b.npz")  # no vocab given: the model's own is stored
    assert read_meta(tmp_path / "b.npz")["vocab"] == reversed_vocab.to_dict()
    assert load_model(tmp_path / "b.npz", dtype=np.float32)[0].params[0].dtype == np.float32


def test_vocabulary_round_trips_through_a_dict():
    for vocab in (VOCAB, Vocabulary("xyz", 3, 2, reversed=True, start_char="=")):
        again = Vocabulary.from_dict(vocab.to_dict())
        assert again.to_dict() == vocab.to_dict() and again.id_to_char == vocab.id_to_char
    good = VOCAB.to_dict()
    for bad in ({**good, "chars": "edcba _"}, {**good, "reversed": "no"},
                {**good, "question_width": 0}, {k: good[k] for k in good if k != "chars"},
                {**good, "extra": 1}, ["chars"]):
        with pytest.raises(ValueError, match="vocabulary"):
            Vocabulary.from_dict(bad)


def test_an_old_checkpoint_without_vocabulary_loads_only_with_load_params(saved):
    model, path = saved  # saved without vocab=
    assert "vocab" not in read_meta(path)
    with pytest.raises(CheckpointError, match=r"model\.npz.*without its vocabulary.*load_params"):
        load_model(path)
    other = AttentionSeq2seq(V, D, H, seed=2)
    load_params(other, path)
    assert same_params(model, other)


def test_save_refuses_metadata_that_would_replace_its_own(tmp_path):
    model = AttentionSeq2seq(V, D, H)
    path = tmp_path / "m.npz"
    for key in ("class", "config"):
        with pytest.raises(TypeError, match=f"'{key}'.*itself"):
            save_params(model, path, **{key: "mine"})
    with pytest.raises(ValueError, match="8 characters.*built for 7"):
        save_params(model, path, vocab=Vocabulary("abcdef"))
    with pytest.raises(TypeError, match="Vocabulary"):
        save_params(model, path, vocab=VOCAB.to_dict())
    assert not path.exists()


def test_load_model_refuses_what_it_cannot_build(tmp_path):
    model = AttentionSeq2seq(V, D, H)
    arrays = dict(zip(model.param_names, model.params))
    meta = {"class": "AttentionSeq2seq", "config": model.config, "vocab": VOCAB.to_dict()}
    cases = [({"class": "Transformer"}, "class 'Transformer'"),
             ({"vocab": {**VOCAB.to_dict(), "chars": 5}}, "vocabulary is malformed"),
             ({"vocab": Vocabulary("abcd").to_dict()}, "vocabulary has 6 characters.*7"),
             ({"config": {**model.config, "hidden_size": "5"}}, "not positive integers"),
             # a made-up size must not build a huge model: the file holds far fewer numbers
             ({"config": {**model.config, "hidden_size": 10**6}}, "larger than the")]
    for change, message in cases:
        save_arrays(tmp_path / "m.npz", arrays, {**meta, **change})
        tracemalloc.start()
        with pytest.raises(CheckpointError, match=r"m\.npz.*" + message):
            load_model(tmp_path / "m.npz")
        assert tracemalloc.get_traced_memory()[1] < 2**20
        tracemalloc.stop()


# --- a load checks everything before it changes anything ---------------------------------------

def save_with(path, model, name, value, meta=None):
    """Saves model's parameters with the one called name replaced by value."""
    arrays = dict(zip(model.param_names, model.params))
    arrays[name] = value
    save_arrays(path, arrays, meta or {"class": type(model).__name__, "config": model.config})


BAD_VALUES = {  # what decoder.lstm.Wx (3, 20), the 6th of 10 parameters, is replaced with
    "strings": (np.full((D, 4 * H), "x"), r"<U1, not as floating"),
    "integers": (np.ones((D, 4 * H), dtype=np.int64), r"int64, not as floating"),
    "complex": (np.ones((D, 4 * H), dtype=np.complex64), r"complex64, not as floating"),
    "booleans": (np.ones((D, 4 * H), dtype=bool), r"bool, not as floating"),
    "nan": (np.where(np.eye(D, 4 * H) > 0, np.nan, 1.0).astype(np.float32), "3 values.*not finite"),
    "inf": (np.full((D, 4 * H), -np.inf, dtype=np.float32), "60 values.*not finite"),
    "too large for float32": (np.full((D, 4 * H), 1e300),
                              r"60 values that are not finite numbers in float32"),
    "objects": (np.full((D, 4 * H), None, dtype=object), "Python objects"),
}


@pytest.mark.parametrize("kind", BAD_VALUES)
def test_a_bad_array_is_refused_and_leaves_the_model_untouched(tmp_path, kind):
    value, message = BAD_VALUES[kind]
    path = tmp_path / "bad.npz"
    save_with(path, AttentionSeq2seq(V, D, H, seed=1), "decoder.lstm.Wx", value)
    model = AttentionSeq2seq(V, D, H, seed=2)
    before = [p.copy() for p in model.params]
    with pytest.raises(CheckpointError, match=r"bad\.npz.*" + message):
        load_params(model, path)
    assert all(np.array_equal(p, q) for p, q in zip(before, model.params))


def test_floats_of_another_precision_are_converted(tmp_path):
    source = AttentionSeq2seq(V, D, H, seed=1, dtype=np.float64)
    save_params(source, tmp_path / "f64.npz")
    model = AttentionSeq2seq(V, D, H, seed=2)
    load_params(model, tmp_path / "f64.npz")
    assert all(p.dtype == np.float32 and np.array_equal(p, q.astype(np.float32))
               for p, q in zip(model.params, source.params))


def test_the_stored_class_must_be_the_models(tmp_path):
    model = AttentionSeq2seq(V, D, H, seed=1)
    save_with(tmp_path / "m.npz", model, "decoder.affine.b", model.params[-1],
              meta={"class": "PeekySeq2seq", "config": model.config})
    with pytest.raises(CheckpointError, match=r"m\.npz holds the parameters of a PeekySeq2seq, "
                                              r"not of a AttentionSeq2seq"):
        load_params(AttentionSeq2seq(V, D, H), tmp_path / "m.npz")


def test_names_and_shapes_are_checked_before_any_array_is_read(saved, monkeypatch):
    _, path = saved
    reads = []
    real = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda f, **kw: reads.append(1) or real(f, **kw))
    with pytest.raises(CheckpointError, match="shape"):
        load_params(AttentionSeq2seq(V, D, H + 1), path)
    assert len(reads) == 1  # only the small __meta__ entry
    load_params(AttentionSeq2seq(V, D, H), path)
    assert len(reads) == 1 + 11


def npy_bytes(shape, dtype="<f4", data=b""):
    """A .npy file whose header claims shape and dtype, followed by data (any length)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + data


def copy_except(source, target, name, compression=zipfile.ZIP_STORED):
    """Copies the entries of checkpoint source into a new zip target, all but name; returns
    the open target for the caller to add name in its own way."""
    out = zipfile.ZipFile(target, "w", compression=compression, compresslevel=1)
    with zipfile.ZipFile(source) as zin:
        for info in zin.infolist():
            if info.filename != name + ".npy":
                out.writestr(info.filename, zin.read(info))
    return out


def peak_memory(call):
    """Runs call (which must raise CheckpointError); returns the peak of traced allocations."""
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as error:
            call()
        return tracemalloc.get_traced_memory()[1], str(error.value)
    finally:
        tracemalloc.stop()


def test_a_header_claiming_a_huge_shape_is_refused_without_allocating(saved, tmp_path):
    _, path = saved
    fake = tmp_path / "fake.npz"
    with copy_except(path, fake, "encoder.embed.W") as out:
        out.writestr("encoder.embed.W.npy", npy_bytes((100000, 100000), data=b"\0" * 84))
    for load in (lambda: load_params(AttentionSeq2seq(V, D, H), fake),
                 lambda: read_checkpoint(fake), lambda: load_model(fake)):
        peak, message = peak_memory(load)
        assert peak < 2**20, message
        assert re.search(r"fake\.npz.*\(100000, 100000\) of float32 \(40,000,000,128 bytes\) "
                         r"but the entry holds 212 bytes", message)


def npy_of(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def test_a_header_of_a_type_without_bytes_is_refused(tmp_path):
    # such a header could claim any shape for free, and lend a made-up config its size
    model = AttentionSeq2seq(V, D, H)
    meta = {"class": "AttentionSeq2seq", "config": {**model.config, "hidden_size": 10**6},
            "vocab": VOCAB.to_dict()}
    fake = tmp_path / "fake.npz"
    with zipfile.ZipFile(fake, "w") as out:
        for name, p in zip(model.param_names[:-1], model.params):
            out.writestr(name + ".npy", npy_of(p))
        out.writestr("decoder.affine.b.npy", npy_bytes((10**9, 10**9), "|S0"))
        out.writestr("__meta__.npy", npy_of(np.array(json.dumps(meta))))
    for load in (lambda: load_model(fake), lambda: read_checkpoint(fake),
                 lambda: load_params(model, fake)):
        peak, message = peak_memory(load)
        assert peak < 2**20 and "'decoder.affine.b' holds |S0, a type without bytes" in message


def test_entries_that_are_no_named_arrays_are_refused(saved, tmp_path):
    _, path = saved
    for extra, message in [("notes.txt", r"unexpected entry 'notes\.txt'"),
                           ("decoder.affine.b.npy", r"'decoder\.affine\.b\.npy' appears twice")]:
        with copy_except(path, tmp_path / "odd.npz", "") as out:
            with pytest.warns(UserWarning) if extra.endswith(".npy") else nullcontext():
                out.writestr(extra, npy_of(np.zeros(V, dtype=np.float32)))
        with pytest.raises(CheckpointError, match=r"odd\.npz: .*" + message):
            load_params(AttentionSeq2seq(V, D, H), tmp_path / "odd.npz")


def test_a_compressed_entry_that_would_unpack_into_64_mb_is_not_read(saved, tmp_path,
                                                                    monkeypatch):
    _, path = saved
    bomb = tmp_path / "bomb.npz"
    with copy_except(path, bomb, "encoder.embed.W", zipfile.ZIP_DEFLATED) as out:
        with out.open("encoder.embed.W.npy", "w", force_zip64=True) as f:
            f.write(npy_bytes((4096, 4096)))
            for _ in range(64):
                f.write(bytes(2**20))  # 64 MB of zeros: about 64 KB once compressed
    assert bomb.stat().st_size < 2**20
    peak, message = peak_memory(lambda: read_checkpoint(bomb))
    assert peak < 2**20 and "would unpack into 67,1" in message
    # allowed to unpack that much, the load still refuses it from its header: wrong shape
    monkeypatch.setattr(checkpoint, "MAX_EXPANSION", 10**6)
    peak, message = peak_memory(lambda: load_params(AttentionSeq2seq(V, D, H), bomb))
    assert peak < 2**20 and "(4096, 4096) in the file but (7, 3)" in message


def test_the_meta_entry_is_bounded(saved, tmp_path, monkeypatch):
    model, path = saved
    monkeypatch.setattr(checkpoint, "MAX_META_BYTES", 5000)
    with pytest.raises(ValueError, match="at most 226"):
        save_params(model, tmp_path / "big.npz", notes="x" * 300)
    assert not (tmp_path / "big.npz").exists()
    monkeypatch.setattr(checkpoint, "MAX_META_BYTES", 200)
    with pytest.raises(CheckpointError, match=r"model\.npz: its __meta__ entry is .* bytes; a "
                                              r"checkpoint's is at most 200"):
        load_params(AttentionSeq2seq(V, D, H), path)


def test_a_damaged_file_raises_only_checkpoint_errors_and_changes_nothing(saved, tmp_path):
    model, path = saved
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    damaged = tmp_path / "damaged.npz"
    outcomes = set()
    for k in range(300):
        broken = bytearray(data)
        if k % 3 == 0:
            broken = broken[:rng.integers(len(data))]
        else:
            for i in rng.integers(len(data), size=1 + k % 4):
                broken[i] = rng.integers(256)
        damaged.write_bytes(bytes(broken))
        other = AttentionSeq2seq(V, D, H, seed=2)
        before = [p.copy() for p in other.params]
        try:
            load_params(other, damaged)
        except CheckpointError:
            outcomes.add("refused")
            assert all(np.array_equal(p, q) for p, q in zip(before, other.params))
        else:  # the byte was one the reader does not use (a timestamp, say)
            outcomes.add("loaded")
            assert same_params(model, other)
    assert "refused" in outcomes


def test_a_flipped_bit_deep_inside_a_large_array_is_caught(tmp_path):
    # zipfile checks an entry's CRC when it has read all of it: after the header, for this one
    model = AttentionSeq2seq(V, D, 64, seed=1)
    path = tmp_path / "large.npz"
    save_params(model, path)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("encoder.lstm.Wh.npy")  # (64, 256) float32: 64 KB
    data = bytearray(path.read_bytes())
    data[info.header_offset + info.file_size // 2] ^= 1
    path.write_bytes(bytes(data))
    other = AttentionSeq2seq(V, D, 64, seed=2)
    before = [p.copy() for p in other.params]
    with pytest.raises(CheckpointError, match=r"large\.npz.*truncated or corrupt.*CRC"):
        load_params(other, path)
    assert all(np.array_equal(p, q) for p, q in zip(before, other.params))


def test_an_entry_claiming_more_bytes_than_the_file_holds_is_refused(saved):
    # without the check zipfile would stop at the entry's (honest) size and skip its CRC check
    _, path = saved
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")  # the first entry of the central directory
    data[central + 20:central + 24] = (10**9).to_bytes(4, "little")  # its compressed size
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.npz.*'encoder\.embed\.W\.npy' claims "
                                              r"sizes that the file cannot hold"):
        load_params(AttentionSeq2seq(V, D, H), path)


# --- saving: temporary files and symlinks ------------------------------------------------------

def test_saving_through_a_symlink_writes_the_file_it_points_to(tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "model.npz"
    link = tmp_path / "latest.npz"
    save_params(AttentionSeq2seq(V, D, H, seed=1), target)
    os.symlink(target, link)
    save_params(AttentionSeq2seq(V, D, H, seed=2), link, epochs=2)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert read_meta(target)["epochs"] == 2
    assert same_params(load_model_params(target), AttentionSeq2seq(V, D, H, seed=2))
    assert os.listdir(tmp_path / "store") == ["model.npz"]  # no temporary file in either folder
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "store"]


def load_model_params(path):
    model = AttentionSeq2seq(V, D, H, seed=3)
    load_params(model, path)
    return model


KILLED_SAVE = """
import os, signal, sys
import numpy as np
from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.checkpoint import save_params

def killed(f, **arrays):
    f.write(b"half a file")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)

np.savez = killed
save_params(AttentionSeq2seq(7, 3, 5), sys.argv[1])
"""


def test_the_next_save_removes_what_a_killed_save_left(saved):
    model, path = saved
    before = path.read_bytes()
    done = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)])
    assert done.wait() == -signal.SIGKILL
    left = [n for n in os.listdir(path.parent) if n != "model.npz"]
    assert len(left) == 1 and re.fullmatch(rf"model\.npz\.{done.pid}\.\w+\.tmp", left[0])
    assert path.read_bytes() == before  # the old checkpoint is intact
    save_params(model, path)
    assert os.listdir(path.parent) == ["model.npz"]


def test_only_temporary_files_of_saves_that_cannot_be_running_are_removed(saved):
    model, path = saved
    folder = path.parent
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    gone = ended.pid  # a process that has ended
    live = os.getppid()  # the shell or runner that started this test: still running
    names = {"dead": f"model.npz.{gone}.abc_123.tmp", "old": f"model.npz.{live}.old.tmp",
             "running": f"model.npz.{live}.xyz.tmp", "other file": f"other.npz.{gone}.abc.tmp",
             "not ours": "model.npz.notes.tmp"}
    for name in names.values():
        (folder / name).write_bytes(b"partial")
    hours_ago = time.time() - 2 * checkpoint.STALE_SECONDS
    os.utime(folder / names["old"], (hours_ago, hours_ago))
    save_params(model, path)
    assert sorted(os.listdir(folder)) == sorted(
        ["model.npz", names["running"], names["other file"], names["not ours"]])


# --- does a model fit a vocabulary and data? check_fits ----------------------------------------

@pytest.fixture
def carrying(tmp_path):
    """A model that carries a reversed vocabulary (as load_model leaves it), and its data."""
    vocab = Vocabulary("abcde", question_width=6, answer_width=4, reversed=True)
    save_params(AttentionSeq2seq(V, D, H), tmp_path / "m.npz", vocab=vocab)
    model, vocab = load_model(tmp_path / "m.npz")
    x = np.stack([vocab.encode_question(q) for q in ("abc", "e", "abcdea")])
    t = np.stack([vocab.encode("_" + a) for a in ("abcd", "eeee", "aaaa")])
    return model, vocab, x, t


def test_check_fits_accepts_what_fits(carrying):
    model, vocab, x, t = carrying
    check_fits(model, vocab, x, t)
    check_fits(model, Vocabulary.from_dict(vocab.to_dict()))  # an equal vocabulary will do
    check_fits(AttentionSeq2seq(V, D, H), Vocabulary("edcba", 6, 4), x[:, ::-1], t)  # no own


def test_check_fits_refuses_another_vocabulary(carrying):
    model, vocab, _, _ = carrying
    as_written = Vocabulary("abcde", question_width=6, answer_width=4)
    with pytest.raises(ValueError, match=r"reads questions as written, the model reversed "
                                          r"\(load_dates\(\.\.\., reverse=True\)\)"):
        check_fits(model, as_written)
    with pytest.raises(ValueError, match=r"question_width is 9, the model's 6"):
        check_fits(model, Vocabulary("abcde", question_width=9, answer_width=4, reversed=True))
    with pytest.raises(ValueError, match=r"only it has: 'f', only the model's has: 'e'"):
        check_fits(model, Vocabulary("abcdf", question_width=6, answer_width=4, reversed=True))
    for m in (model, AttentionSeq2seq(V, D, H)):  # the size is checked with or without
        with pytest.raises(ValueError, match="8 characters but the AttentionSeq2seq was built "
                                             "for 7"):
            check_fits(m, Vocabulary("abcdef"))


def test_check_fits_refuses_data_that_does_not_fit(carrying):
    model, vocab, x, t = carrying
    with pytest.raises(ValueError, match=r"x holds 1 ids outside the ids of the "
                                         r"AttentionSeq2seq's vocabulary, 0\.\.6"):
        check_fits(model, x=np.where(np.eye(3, 6) > 0, 7, x)[:1])
    with pytest.raises(ValueError, match="t holds 3 ids outside"):
        check_fits(AttentionSeq2seq(V, D, H), t=np.where(t == vocab.start_id, -1, t))
    with pytest.raises(ValueError, match="integer ids, not float64"):
        check_fits(model, x=x.astype(float))
    with pytest.raises(ValueError, match="questions of 5 characters.*pads them to 6"):
        check_fits(model, x=x[:, 1:])
    with pytest.raises(ValueError, match=r"rows of 4 ids.*answers of 4 characters, so rows of 5"):
        check_fits(model, x=x, t=t[:, :-1])
    # questions as written (padding at the end) given to a model that reads them reversed
    with pytest.raises(ValueError, match=r"2 of 3 questions in x have padding at the end \(the "
                                         r"first: row 0\).*reads questions reversed.*reverse=True"):
        check_fits(model, x=x[:, ::-1], t=t)
    forward = AttentionSeq2seq(V, D, H)
    forward.vocab = Vocabulary("abcde", question_width=6, answer_width=4)
    with pytest.raises(ValueError, match=r"padding at the front.*reads questions as written.*"
                                         r"reverse=False"):
        check_fits(forward, x=x, t=t)
    check_fits(forward, x=x[:, ::-1], t=t)
    check_fits(model, x=x[0], t=t)  # not 2-D: left to the caller's own checks
