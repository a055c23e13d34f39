"""Saving and loading a model's parameters as ``.npz`` files: named arrays, never pickle.

A save writes a temporary file beside the target and renames it over the target only when it
is complete, so a crash or a full disk leaves the previous checkpoint intact. A load checks
every name and shape before it changes anything, so a bad file leaves the model untouched.
"""
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or does not fit the model."""


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_params(model, path, **meta):
    """Writes model.params under their ``param_names`` to path (an .npz file).

    The model's class and ``config`` (sizes) and any extra JSON-serialisable ``meta`` are
    stored too, as a JSON string.
    """
    arrays = dict(zip(model.param_names, model.params))
    info = {"class": type(model).__name__, "config": getattr(model, "config", {}), **meta}
    save_arrays(path, arrays, info)


def save_arrays(path, arrays, meta):
    """Writes named arrays and a JSON-serialisable meta dict to path (.npz), atomically."""
    path = Path(path)
    arrays = dict(arrays)
    arrays[META_KEY] = np.array(json.dumps(meta))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
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


def read_checkpoint(path):
    """Reads every array of a checkpoint: returns ({name: array}, meta dict)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupt?): "
                              f"{e}") from e
    if META_KEY not in arrays:
        raise CheckpointError(f"{path} is not a checkpoint of this package: no {META_KEY} entry")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: its {META_KEY} entry is not valid JSON: {e}") from e
    return arrays, meta


def load_params(model, path):
    """Copies the parameters stored in path into model (in place) and returns the meta dict.

    Raises CheckpointError naming the file and the parameter when a name is missing or extra,
    or a shape differs; the model is changed only when everything fits.
    """
    arrays, meta = read_checkpoint(path)
    names = list(model.param_names)
    missing = [n for n in names if n not in arrays]
    extra = [n for n in arrays if n not in names]
    if missing or extra:
        raise CheckpointError(f"{path} does not fit {type(model).__name__}: "
                              f"missing parameters {missing}, unexpected parameters {extra}")
    for name, p in zip(names, model.params):
        if arrays[name].shape != p.shape:
            raise CheckpointError(f"{path}: parameter {name} has shape {arrays[name].shape} "
                                  f"in the file but {p.shape} in the model")
    for name, p in zip(names, model.params):
        p[...] = arrays[name]
    return meta
