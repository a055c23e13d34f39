"""Saving and loading models as ``.npz`` files: named arrays, never pickle.

A checkpoint holds a model's parameters under their ``param_names`` and one JSON entry,
``__meta__``: the model's class and ``config`` (sizes), the vocabulary of its data (so that
``load_model`` returns a model ready to answer questions), and whatever else the caller adds.

Saving writes a temporary file beside the target and renames it over the target only when it
is complete, so a crash or a full disk leaves the previous checkpoint intact; the next save
removes what a killed save left behind. Saving through a symlink writes the file it points to.

Loading trusts nothing in the file. Every entry's name, shape and dtype are read from the
zip's headers and checked (against the model, if there is one) before any array is read, so a
crafted header cannot make a load allocate gigabytes. Every array is then read, converted to
the model's dtype and checked to be finite before the model changes at all. Any problem
raises ``CheckpointError``, naming the file.

``check_fits`` refuses a model and a vocabulary or data that do not belong together.

Shape letters as in the book: N questions, T question width, A answer width, V vocabulary size.
"""
import json
import math
import os
import re
import tempfile
import time
import zipfile
from collections import namedtuple
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from .attention_seq2seq import AttentionSeq2seq
from .attention_variants import AttentionVariant
from .data import PAD, Vocabulary
from .peeky_seq2seq import PeekySeq2seq
from .seq2seq import Seq2seq
from .transformer import TransformerSeq2seq

META_KEY = "__meta__"
MODEL_CLASSES = {cls.__name__: cls for cls in (Seq2seq, PeekySeq2seq, AttentionSeq2seq,
                                                AttentionVariant, TransformerSeq2seq)}
WRITTEN_BY_SAVE = ("class", "config", "vocab")  # meta keys that save_params owns
MAX_META_BYTES = 2**20  # the __meta__ entry's size limit: a few KB in practice
# A zip entry may be compressed, and a small file could then unpack into gigabytes. np.savez
# never compresses, and floats barely compress: refuse files that would grow more than this.
MAX_EXPANSION = 10
STALE_SECONDS = 3600  # a temporary file this old belongs to no running save


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or does not fit the model."""


# --- saving ---------------------------------------------------------------------------------

def save_params(model, path, vocab=None, **meta):
    """Writes model.params under their ``param_names`` to path (an .npz file).

    Also stored, as JSON: the model's class and ``config`` (sizes); ``vocab.to_dict()`` (a
    ``Vocabulary`` of V characters; default: ``model.vocab``, which ``load_model`` sets); and
    any extra JSON-serialisable ``meta``. Raises TypeError when meta uses a name that
    save_params writes itself (``class``, ``config``), ValueError when vocab has the wrong size.
    """
    taken = sorted(set(meta) & set(WRITTEN_BY_SAVE))
    if taken:
        raise TypeError(f"save_params writes {taken} itself; give your metadata other names")
    config = getattr(model, "config", {})
    info = {"class": type(model).__name__, "config": config}
    vocab = getattr(model, "vocab", None) if vocab is None else vocab
    if vocab is not None:
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
        if "vocab_size" in config and len(vocab) != config["vocab_size"]:
            raise ValueError(f"the vocabulary has {len(vocab)} characters but the model was "
                             f"built for {config['vocab_size']}: not the model's vocabulary")
        info["vocab"] = vocab.to_dict()
    info.update(meta)
    save_arrays(path, dict(zip(model.param_names, model.params)), info)


def save_arrays(path, arrays, meta):
    """Writes named arrays and a JSON-serialisable meta dict to path (.npz), atomically.

    A symlink at path stays a symlink: the file it points to is written.
    """
    path = Path(os.path.realpath(path))
    text = json.dumps(meta)
    if 4 * len(text) > MAX_META_BYTES - 4096:  # stored as UTF-32, beside a short header
        raise ValueError(f"the metadata for {path} is {len(text)} characters of JSON; a "
                         f"checkpoint keeps at most {(MAX_META_BYTES - 4096) // 4}")
    arrays = dict(arrays)
    arrays[META_KEY] = np.array(text)
    remove_stale_temporaries(path)
    # the pid in the name tells a later save whether the save that made it is still running
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a checkpoint is not
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    except BaseException:
        os.unlink(tmp)
        raise


def remove_stale_temporaries(path):
    """Removes the temporary files ``<name>.<pid>.<random>.tmp`` beside path that saves left
    when they were killed: those of processes that no longer run, and any older than
    STALE_SECONDS (a pid can be reused). Those of running saves stay."""
    path = Path(path)
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)\.[a-z0-9_]+\.tmp")
    now = time.time()
    for entry in os.scandir(path.parent):
        found = pattern.fullmatch(entry.name)
        if not found or not entry.is_file(follow_symlinks=False):
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
            if old or not _running(int(found.group(1))):
                os.unlink(entry.path)
        except FileNotFoundError:  # another save removed it first
            pass


def _running(pid):
    if pid == os.getpid() or os.name != "posix":  # elsewhere os.kill(pid, 0) would kill it
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it exists, and belongs to someone else
        return True
    return True


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- reading, headers first -------------------------------------------------------------------

Header = namedtuple("Header", "shape dtype info")  # one entry, as its .npy header describes it


class _Reader:
    """An open checkpoint whose entries' headers are read and checked, and whose meta is read;
    no other array is read until ``read`` asks for it. Errors are CheckpointErrors."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise
        except _READ_ERRORS as e:
            raise self.corrupt(e) from e
        try:
            self.headers = self._read_headers()
            self.meta = self._read_meta()
        except BaseException:
            self.zip.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()

    def error(self, problem):
        return CheckpointError(f"{self.path}: {problem}")

    def corrupt(self, e):
        return CheckpointError(f"{self.path} is not a readable checkpoint "
                               f"(truncated or corrupt?): {type(e).__name__}: {e}")

    def _read_headers(self):
        headers = {}
        disk_size = self.path.stat().st_size
        for info in self.zip.infolist():
            name = info.filename[:-len(".npy")]
            if not info.filename.endswith(".npy"):
                raise self.error(f"unexpected entry {info.filename!r} (not a named array)")
            if name in headers:
                raise self.error(f"the entry {info.filename!r} appears twice")
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                                  zipfile.ZIP_DEFLATED):
                raise self.error(f"entry {info.filename!r} is encrypted or compressed in a way "
                                 f"np.savez never writes")
            if info.header_offset + info.compress_size > disk_size or (
                    info.compress_type == zipfile.ZIP_STORED
                    and info.compress_size != info.file_size):
                raise self.corrupt(ValueError(f"entry {info.filename!r} claims sizes that "
                                              f"the file cannot hold"))
            try:
                with self.zip.open(info) as f:
                    version = npy.read_magic(f)
                    if version not in ((1, 0), (2, 0)):
                        raise ValueError(f"unsupported .npy format version {version}")
                    read = (npy.read_array_header_1_0 if version == (1, 0)
                            else npy.read_array_header_2_0)
                    shape, _, dtype = read(f)
                    header_size = f.tell()
            except _READ_ERRORS as e:
                raise self.corrupt(e) from e
            if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise self.error(f"entry {name!r} holds {dtype}: Python objects or records, "
                                 f"which a checkpoint never contains (and which could run code)")
            if dtype.itemsize == 0:  # its header could claim any shape for free
                raise self.error(f"entry {name!r} holds {dtype}, a type without bytes")
            size = header_size + math.prod(shape) * dtype.itemsize
            if size != info.file_size:
                raise self.corrupt(ValueError(
                    f"the header of {name!r} claims shape {shape} of {dtype} ({size:,} bytes) "
                    f"but the entry holds {info.file_size:,} bytes"))
            headers[name] = Header(shape, dtype, info)
        unpacked = sum(h.info.file_size for h in headers.values())
        if unpacked > MAX_EXPANSION * disk_size + 2**20:
            raise self.error(f"its entries would unpack into {unpacked:,} bytes from a file of "
                             f"{disk_size:,}: not a checkpoint np.savez wrote")
        return headers

    def _read_meta(self):
        header = self.headers.pop(META_KEY, None)
        if header is None:
            raise CheckpointError(f"{self.path} is not a checkpoint of this package: "
                                  f"no {META_KEY} entry")
        if header.dtype.kind != "U" or header.shape != ():
            raise self.error(f"its {META_KEY} entry is {header.dtype} of shape {header.shape}, "
                             f"not one JSON string")
        if header.info.file_size > MAX_META_BYTES:
            raise self.error(f"its {META_KEY} entry is {header.info.file_size:,} bytes; a "
                             f"checkpoint's is at most {MAX_META_BYTES:,}")
        try:
            meta = json.loads(str(self._read(header)))
        except json.JSONDecodeError as e:
            raise self.error(f"its {META_KEY} entry is not valid JSON: {e}") from e
        if not isinstance(meta, dict):
            raise self.error(f"its {META_KEY} entry is a JSON {type(meta).__name__}, not an "
                             f"object")
        return meta

    def _read(self, header):
        try:
            with self.zip.open(header.info) as f:
                array = npy.read_array(f, allow_pickle=False)
        except _READ_ERRORS as e:
            raise self.corrupt(e) from e
        if array.shape != header.shape or array.dtype != header.dtype:  # cannot, after the checks
            raise self.corrupt(ValueError(f"entry {header.info.filename!r} changed on reading"))
        return array

    def read(self, name):
        """The array stored under name."""
        return self._read(self.headers[name])


_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile,
                RuntimeError, NotImplementedError, MemoryError)


def read_checkpoint(path):
    """Reads every array of a checkpoint: returns ({name: array}, meta dict).

    Raises CheckpointError for anything but a complete checkpoint of this package, and
    FileNotFoundError when there is no file.
    """
    with _Reader(path) as reader:
        return {name: reader.read(name) for name in reader.headers}, reader.meta


def read_meta(path):
    """The meta dict of a checkpoint (its class, config, vocab, ...), without its arrays."""
    with _Reader(path) as reader:
        return reader.meta


def _checked_params(reader, model):
    """The stored parameters of model, checked against it and converted to its dtype: a list
    in the order of model.params. Names, shapes, dtypes and the class are checked from the
    headers before any array is read."""
    path, names = reader.path, list(model.param_names)
    missing = [n for n in names if n not in reader.headers]
    extra = [n for n in reader.headers if n not in names]
    if missing or extra:
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: "
                              f"missing parameters {missing}, unexpected parameters {extra}")
    for name, p in zip(names, model.params):
        header = reader.headers[name]
        if header.shape != p.shape:
            raise CheckpointError(f"{path}: parameter {name} has shape {header.shape} "
                                  f"in the file but {p.shape} in the model")
        if not np.issubdtype(header.dtype, np.floating):
            raise CheckpointError(f"{path}: parameter {name} is stored as {header.dtype}, "
                                  f"not as floating-point numbers")
    stored = reader.meta.get("class")
    if stored != type(model).__name__:
        raise CheckpointError(f"{path} holds the parameters of a {stored}, not of a "
                              f"{type(model).__name__}: build a {stored} (or use load_model)")
    converted = []
    for name, p in zip(names, model.params):
        with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: refused
            array = reader.read(name).astype(p.dtype)
        bad = array.size - int(np.isfinite(array).sum())
        if bad:
            raise CheckpointError(f"{path}: parameter {name} has {bad} values that are not "
                                  f"finite numbers in {p.dtype} (nan or inf)")
        converted.append(array)
    return converted


def load_params(model, path):
    """Copies the parameters stored in path into model (in place) and returns the meta dict.

    Raises CheckpointError naming the file and the problem when a name is missing or extra, a
    shape differs, an array is not floating-point or not finite, or the file holds another
    class of model; the model is changed only when everything fits.
    """
    with _Reader(path) as reader:
        arrays = _checked_params(reader, model)
        meta = reader.meta
    for p, array in zip(model.params, arrays):
        p[...] = array
    return meta


def load_model(path, dtype=None):
    """The model stored in path, ready to use, and its vocabulary: returns (model, vocab).

    The model is built from the stored class name and config, in dtype (default: the dtype of
    the stored parameters), and carries the vocabulary as ``model.vocab``, so that
    ``translate`` and ``evaluate`` can refuse questions that do not fit it. Checkpoints saved
    without a vocabulary raise CheckpointError: use ``load_params`` for those.
    """
    with _Reader(path) as reader:
        meta = reader.meta
        cls = MODEL_CLASSES.get(meta.get("class"))
        if cls is None:
            raise reader.error(f"holds a model of class {meta.get('class')!r}; load_model "
                               f"builds {sorted(MODEL_CLASSES)}")
        if "vocab" not in meta:
            raise reader.error(
                "it was saved without its vocabulary (by an older save_params), so load_model "
                "cannot know which characters the model reads. Build the model and call "
                "load_params(model, path) with the vocabulary of its training data, or save it "
                "again with save_params(model, path, vocab=vocab)")
        try:
            vocab = Vocabulary.from_dict(meta["vocab"])
        except ValueError as e:
            raise reader.error(f"its vocabulary is malformed: {e}") from e
        config = _checked_config(reader, meta.get("config"), cls)
        if len(vocab) != config["vocab_size"]:
            raise reader.error(f"its vocabulary has {len(vocab)} characters but the model "
                               f"{config['vocab_size']}")
        if dtype is None:
            stored = {h.dtype.name for h in reader.headers.values()}
            dtype = np.float64 if stored == {"float64"} else np.float32
        try:
            model = cls(**config, dtype=dtype)
        except (TypeError, ValueError) as e:  # a variant's options, checked by the class
            raise reader.error(f"its config {config} does not build a {cls.__name__}: {e}") \
                from e
        arrays = _checked_params(reader, model)
    for p, array in zip(model.params, arrays):
        p[...] = array
    model.vocab = vocab
    return model, vocab


def _checked_config(reader, config, cls=None):
    """The stored config, checked before it builds a model: a made-up hidden_size must not
    make the load allocate gigabytes. Every model here stores at least V*D (an embedding),
    H*H (an LSTM's Wh), H*D (its Wx) and H*V (the Affine's W) numbers, and builds no more than
    16 times that; the file has to hold that many."""
    if cls is TransformerSeq2seq:
        return _checked_transformer_config(reader, config)
    keys = ("vocab_size", "wordvec_size", "hidden_size")
    options = getattr(cls, "option_names", ())
    if not isinstance(config, dict) or sorted(config) != sorted(keys + options) or not all(
            type(config[k]) is int and config[k] >= 1 for k in keys):
        raise reader.error(f"its config {config!r} is not positive integers {list(keys)}"
                           + (f" and the options {list(options)}" if options else ""))
    V, D, H = (config[k] for k in keys)
    layers = config.get("layers", 1)
    if type(layers) is not int or layers < 1:
        raise reader.error(f"its config's layers {layers!r} is not a whole number >= 1")
    stored = sum(math.prod(h.shape) for h in reader.headers.values())
    # (a stack of L layers has at least L decoder matrices Wh of H x 4H)
    if V * D + H * H + H * D + H * V > stored or 4 * H * H * layers > stored:
        raise reader.error(f"its config {config} describes a model larger than the "
                           f"{stored:,} numbers it stores")
    return config


def _checked_transformer_config(reader, config):
    """A Transformer's config: its sizes (positive integers) and pad_id (None or an id), and a
    file that holds exactly as many numbers as those sizes build."""
    keys = TransformerSeq2seq.size_names
    if not isinstance(config, dict) or sorted(config) != sorted(keys + ("pad_id",)) or not all(
            type(config[k]) is int and config[k] >= 1 for k in keys) or not (
            config["pad_id"] is None or type(config["pad_id"]) is int and config["pad_id"] >= 0):
        raise reader.error(f"its config {config!r} is not positive integers {list(keys)} and a "
                           "pad_id (None or an id >= 0)")
    stored = sum(math.prod(h.shape) for h in reader.headers.values())
    if TransformerSeq2seq.parameter_count(**config) != stored:
        raise reader.error(f"its config {config} describes a model of "
                           f"{TransformerSeq2seq.parameter_count(**config):,} numbers, but it "
                           f"stores {stored:,}")
    return config


# --- does the model fit the vocabulary and the data? -----------------------------------------

def _order(reversed_):
    return "reversed" if reversed_ else "as written"


def check_fits(model, vocab=None, x=None, t=None):
    """Raises ValueError, saying what to do, unless model can read vocab, x and t.

    vocab: a Vocabulary. Its size must be the model's V; if the model carries its own
    (``model.vocab``, set by ``load_model``), they must be the same vocabulary.
    x (N, T) question ids and t (N, A + 1) answer ids: integers below V. When a vocabulary is
    known (the model's own, else vocab), T and A must be its widths, and x's padding must sit
    where it puts it: at the end of questions as written, in front of reversed ones.
    Models without ``config["vocab_size"]`` skip the size checks; x and t that are not 2-D
    are left to the caller's own checks.
    """
    name = type(model).__name__
    V = getattr(model, "config", {}).get("vocab_size")
    own = getattr(model, "vocab", None)
    if vocab is not None:
        if V is not None and len(vocab) != V:
            raise ValueError(
                f"the vocabulary has {len(vocab)} characters but the {name} was built for {V}: "
                f"they come from different data. Use the vocabulary of the data the model was "
                f"trained on (load_model returns it with the model).")
        if own is not None and vocab.to_dict() != own.to_dict():
            raise ValueError(f"this vocabulary is not the one the {name} was trained with: "
                             f"{_differences(vocab, own)}. Use model.vocab.")
    known = own if own is not None else vocab
    if x is not None:
        x = np.asarray(x)
        if _check_ids("x", x, V, name) and known is not None:
            if x.shape[1] != known.question_width:
                raise ValueError(f"x has questions of {x.shape[1]} characters but the model's "
                                 f"vocabulary pads them to {known.question_width}")
            _check_padding(x, known, name)
    if t is not None:
        t = np.asarray(t)
        if _check_ids("t", t, V, name) and known is not None and \
                t.shape[1] != known.answer_width + 1:
            raise ValueError(f"t has rows of {t.shape[1]} ids but the model's vocabulary has "
                             f"answers of {known.answer_width} characters, so rows of "
                             f"{known.answer_width + 1} (the start character first)")


def _differences(vocab, own):
    found = []
    if vocab.reversed != own.reversed:
        found.append(f"it reads questions {_order(vocab.reversed)}, the model "
                     f"{_order(own.reversed)} (load_dates(..., reverse={own.reversed}))")
    for key in ("question_width", "answer_width", "start_char"):
        if getattr(vocab, key) != getattr(own, key):
            found.append(f"its {key} is {getattr(vocab, key)!r}, the model's "
                         f"{getattr(own, key)!r}")
    chars, own_chars = set(vocab.char_to_id), set(own.char_to_id)
    if chars != own_chars:
        found.append(f"characters only it has: {''.join(sorted(chars - own_chars))!r}, only "
                     f"the model's has: {''.join(sorted(own_chars - chars))!r}")
    return "; ".join(found)


def _check_ids(label, ids, V, name):
    """Raises for ids outside the vocabulary; returns whether ids is 2-D (the callers, such as
    ``evaluate``, check the shapes of what they are given themselves)."""
    if ids.ndim != 2:
        return False
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{label} must hold integer ids, not {ids.dtype}")
    outside = (ids < 0) if V is None else (ids < 0) | (ids >= V)
    if outside.any():
        known = "" if V is None else f" of the {name}'s vocabulary, 0..{V - 1}"
        raise ValueError(f"{label} holds {int(outside.sum())} ids outside the ids{known}: it "
                         f"was encoded with another vocabulary (use the model's own)")
    return True


def _check_padding(x, vocab, name):
    pad = vocab.char_to_id.get(PAD)
    if pad is None or not len(x):
        return
    # a question never starts with a space, so padding on the wrong side betrays the order
    wrong = x[:, -1] == pad if vocab.reversed else x[:, 0] == pad
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        side, other = ("end", "in front") if vocab.reversed else ("front", "at the end")
        raise ValueError(
            f"{int(wrong.sum())} of {len(x)} questions in x have padding at the {side} "
            f"(the first: row {first}), but the {name} reads questions "
            f"{_order(vocab.reversed)}, padded {other}: load the data with "
            f"load_dates(..., reverse={vocab.reversed})")
