"""Checkpoints: round trip, and clear errors for corrupt, truncated and mismatched files."""
import os
import zipfile

import numpy as np
import pytest

from seqattn.attention_seq2seq import AttentionSeq2seq
from seqattn.checkpoint import CheckpointError, load_params, read_checkpoint, save_params
from seqattn.peeky_seq2seq import PeekySeq2seq

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
