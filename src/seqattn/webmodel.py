"""The trained model in the reader's browser: the files the static book serves, and its box.

The HTML book has no Python behind it. Chapter 8's box answers there all the same, because
answering is only the forward pass: ``js/attention_seq2seq.js`` is that forward pass in plain
JavaScript, and ``js/ask_box.js`` draws the box, the answer, the map and the probabilities.
They need the weights and the vocabulary, which ``export_model`` writes from a checkpoint into
a script file: from ``file://`` a page may load scripts but may not read other files.

``python -m seqattn.webmodel OUT`` (``make book`` runs it, with OUT under ``_extra/``) writes
the two scripts and one model file for each shipped checkpoint of ``AttentionSeq2seq``:

    OUT/attention_seq2seq.js                 the engine
    OUT/ask_box.js                           the box
    OUT/model-attention_seq2seq.js           after epoch 10 (loaded with the page)
    OUT/model-attention_seq2seq_epoch1.js    after epoch 1 (loaded when the reader asks)
    OUT/model-attention_seq2seq_epoch2.js    after epoch 2 (likewise)

A model file keeps every weight in float32, as the checkpoint has it: with float16 weights the
maps would move by up to 7e-4 and the epoch-1 model would change 137 of its 5,000 test answers.
To keep it small, the float32 bytes are regrouped by byte position (the sign-and-exponent bytes
of 591,259 numbers repeat a lot), gzipped and written as base64: 2.7 MB in place of 3.2 MB.
"""
import argparse
import base64
import gzip
import html
import json
import sys
from pathlib import Path

import numpy as np

from .attention_seq2seq import AttentionSeq2seq
from .checkpoint import load_model, read_meta
from .data import default_data_path

JS_DIR = Path(__file__).parent / "js"
ENGINE = JS_DIR / "attention_seq2seq.js"
BOX = JS_DIR / "ask_box.js"
# the checkpoints the book ships, as the box offers them: (file stem, button label)
SHIPPED = [("attention_seq2seq_epoch1", "epoch 1"), ("attention_seq2seq_epoch2", "epoch 2"),
           ("attention_seq2seq", "epoch 10")]
DEFAULT = "attention_seq2seq"  # the model loaded with the page
STATIC = "../_static/seqattn/"  # where a chapter's page finds the files (book/*.html)


def model_file_name(stem):
    return f"model-{stem}.js"


def pack_arrays(arrays):
    """float32 arrays -> the model file's string: their little-endian bytes one after the
    other, regrouped by byte position (all first bytes, then all second bytes, ...), gzipped
    (mtime 0, so the same weights give the same file), base64."""
    raw = np.concatenate([np.asarray(a, dtype="<f4").ravel() for a in arrays]).view(np.uint8)
    planes = raw.reshape(-1, 4).T.tobytes()
    return base64.b64encode(gzip.compress(planes, compresslevel=9, mtime=0)).decode("ascii")


def unpack_arrays(text, shapes):
    """The inverse of ``pack_arrays``: the string and the shapes -> float32 arrays."""
    planes = np.frombuffer(gzip.decompress(base64.b64decode(text)), dtype=np.uint8)
    count = sum(int(np.prod(s)) for s in shapes)
    if planes.size != 4 * count:
        raise ValueError(f"the packed arrays hold {planes.size} bytes, the shapes need "
                         f"{4 * count}")
    values = planes.reshape(4, count).T.copy().view("<f4").ravel()
    out, offset = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(values[offset:offset + n].reshape(shape))
        offset += n
    return out


def model_file_text(model, vocab, name, meta=None):
    """The text of a model file: a script that gives the browser, or Node's require, one
    object with the model's class, sizes, vocabulary, array names and shapes, and weights."""
    if type(model) is not AttentionSeq2seq:
        raise TypeError(f"the browser engine runs AttentionSeq2seq, not {type(model).__name__}")
    if vocab is None:
        raise ValueError("a model file needs the model's vocabulary (load it with load_model)")
    arrays = [{"name": n, "shape": list(p.shape)}
              for n, p in zip(model.param_names, model.params)]
    body = {"name": name, "class": type(model).__name__, "config": model.config,
            "vocab": vocab.to_dict(), "meta": meta or {}, "arrays": arrays,
            "encoding": "float32 little-endian, grouped by byte position, gzip, base64",
            "data": pack_arrays(model.params)}
    return ("// Made by seqattn.webmodel from the checkpoint: weights and vocabulary for "
            "attention_seq2seq.js.\n"
            "(function (root) {\n"
            f"  const model = {json.dumps(body, ensure_ascii=True)};\n"
            "  if (typeof module === \"object\" && module.exports) module.exports = model;\n"
            "  else (root.SEQATTN_MODELS = root.SEQATTN_MODELS || {})[model.name] = model;\n"
            "})(typeof self !== \"undefined\" ? self : this);\n")


def export_model(checkpoint, out_dir, name=None):
    """Writes the model file of checkpoint (a .npz of AttentionSeq2seq with its vocabulary)
    into out_dir; returns its path. name: the model's name in the page (the file's stem)."""
    checkpoint = Path(checkpoint)
    name = name or checkpoint.stem
    model, vocab = load_model(checkpoint)
    stored = read_meta(checkpoint)
    meta = {key: stored[key] for key in ("run", "epochs", "seed") if key in stored}
    path = Path(out_dir) / model_file_name(name)
    _write_if_changed(path, model_file_text(model, vocab, name, meta))
    return path


def _write_if_changed(path, text):
    """Leaves an identical file alone (its time too), else replaces it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def export_book(data_dir, out_dir):
    """The engine, the box and the shipped models, into out_dir: what ``make book`` serves."""
    out_dir = Path(out_dir)
    for script in (ENGINE, BOX):
        _write_if_changed(out_dir / script.name, script.read_text(encoding="utf-8"))
    return [export_model(Path(data_dir) / f"{stem}.npz", out_dir) for stem, _ in SHIPPED]


def answer_in_node(questions, model_file, engine=ENGINE, one_by_one=False, timeout=None):
    """The browser's engine, run under Node.js, answers questions (a list of str) with the
    model file: returns {"answers": [str or None], "errors": [message or None],
    "probabilities": [[A floats] or None], "seconds": float, "weights": (n, A, T)}, the
    weights being the maps of the n readable questions, in reading order. The engine reads all
    readable questions as one batch, in pieces (``generate``), or with one_by_one each alone
    (``translate``, as the page does). Raises RuntimeError when node is missing or fails
    (its message ends with node's own error), subprocess.TimeoutExpired after timeout seconds."""
    import shutil
    import subprocess
    import tempfile

    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the browser's engine runs under Node.js here, and `node` is not "
                           "on the PATH: install Node.js (https://nodejs.org) to run it")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        command = [node, str(JS_DIR / "answer_node.js"), str(engine), str(model_file), str(out)]
        done = subprocess.run(command + (["--one-by-one"] if one_by_one else []),
                              input=json.dumps(list(questions)), text=True,
                              encoding="utf-8", capture_output=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"node failed: {done.stderr.strip()}")
        result = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
        weights = np.fromfile(out.with_suffix(".weights"), dtype="<f8")
    answers = [answer for answer in result["answers"] if answer is not None]
    A = len(answers[0]) if answers else 1
    result["weights"] = weights.reshape(len(answers), A, -1) if answers else weights
    return result


class AskBox:
    """The box of chapter 8, as a notebook output: its HTML loads the engine, the default
    model's file and the box script from the book's static files (in that order, while the
    page loads), and the box answers in the page, with no kernel. The other models' files load
    when the reader picks them.

    Where those files are not served (a notebook open in Jupyter), the scripts cannot load,
    and the box says so: there, the Python box answers instead."""

    def __init__(self, question="Aug 8, 2001", models=SHIPPED, default=DEFAULT, static=STATIC):
        self.question, self.models, self.default, self.static = question, models, default, static

    def __repr__(self):
        return (f"AskBox(question={self.question!r}: answered in the browser by "
                f"{model_file_name(self.default)} and {ENGINE.name})")

    def _repr_html_(self):
        models = json.dumps([{"name": stem, "label": label, "file": model_file_name(stem)}
                             for stem, label in self.models])
        static = html.escape(self.static, quote=True)
        return (
            f'<div class="seqattn-ask" data-models="{html.escape(models, quote=True)}" '
            f'data-default="{html.escape(self.default, quote=True)}" '
            f'data-question="{html.escape(self.question, quote=True)}">\n'
            '<p class="seqattn-ask-off">This box answers in the HTML book, where the page '
            'runs the model itself. Here, in Jupyter, the Python box below answers.</p>\n'
            '</div>\n'
            f'<script src="{static}{ENGINE.name}"></script>\n'
            f'<script src="{static}{html.escape(model_file_name(self.default), quote=True)}">'
            '</script>\n'
            f'<script src="{static}{BOX.name}"></script>\n')


def ask_box(question="Aug 8, 2001"):
    """Chapter 8's box for the static book, starting with question."""
    return AskBox(question)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m seqattn.webmodel",
        description="Write the browser engine, the box and the shipped models into OUT.")
    parser.add_argument("out", type=Path, help="the folder the book serves them from")
    parser.add_argument("--data", type=Path, default=default_data_path().parent,
                        help="the folder of the checkpoints (default: the repository's data/)")
    args = parser.parse_args(argv)
    for path in export_book(args.data, args.out):
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
