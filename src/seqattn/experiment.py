"""The course's experiments: every model, with its questions reversed and as written, over
several seeds, with a record of what happened after every epoch.

A *run* is one configuration (model, question order, seed) trained for some epochs with the
settings of a *preset*: ``"book"`` (the book's settings, 10 epochs on all 45,000 training
questions) or ``"small"`` (a quick version for experimenting, under a minute a run). After
every epoch, :func:`train_epoch` records

- ``loss``: the mean training loss of the epoch, and ``loss_curve``: the mean of every 20
  iterations (``LOSS_WINDOW``);
- ``accuracy``: exact-match accuracy on the test questions, ``correct``: how many of them
  were right per question format (``"long/title"``, ``"short/none"``, ...: :func:`format_key`),
  and ``correct_chars``: how many answers had the right character at each of the A positions;
- ``grad_norm_median``, ``grad_norm_max`` and ``grad_norms_above_5``: the global norm of the
  gradients before clipping, over the epoch's iterations (5 is the book's clipping norm; the
  book preset's record was made before these were added and does not have them);
- ``train_seconds`` and ``eval_seconds``.

The seed sets the model's initial weights and the order of the mini-batches. The split into
training and test questions is the same for every run (``load_dates``' own seed), so all runs
answer the same 5,000 test questions.

Training can stop and resume between epochs: ``Run.save_state`` stores the model, Adam's
moments and the shuffling generator's state, and a run restored with ``Run.load_state``
continues bit for bit as if it had never stopped. ``scripts/experiments.py`` runs the whole
grid this way and keeps the record (``data/experiments.json``); :func:`load_record` and
:func:`summarize` read it for the chapters.
"""
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .attention_seq2seq import AttentionSeq2seq
from .attention_variants import VARIANTS, AttentionVariant
from .checks import check_whole_number
from .checkpoint import read_checkpoint, save_arrays, save_params
from .data import PAD, default_data_path, load_dates, question_format
from .optim import Adam
from .peeky_seq2seq import PeekySeq2seq
from .seq2seq import Seq2seq
from .speed import gflop, iteration_products, transformer_products, variant_products
from .train import Trainer, predict
from .transformer import TRANSFORMERS, TransformerSeq2seq

MODELS = {"baseline": Seq2seq, "peeky": PeekySeq2seq, "attention": AttentionSeq2seq}
# Part 3's models: AttentionVariant with the options of attention_variants.VARIANTS, by name
# ("bahdanau_additive", "bilstm", "deep2_skip", ...). Names have no "-": run names split on it.
# Part 4's Transformers: TransformerSeq2seq with the sizes of transformer.TRANSFORMERS, by name
ALL_MODELS = (*MODELS, *VARIANTS, *TRANSFORMERS)
# How the questions are fed to the encoder: back to front (the book's reversed input), as
# written (padded with spaces at the end), or as written with the padding in front.
ORDERS = ("reversed", "as-written", "left-padded")
LOSS_WINDOW = 20  # iterations per point of the recorded loss curve

# The book's settings (chapter 7 and 8 of the book: wordvec 16, hidden 256, batch 128, Adam
# 0.001, gradients clipped to 5.0, 10 epochs) and a small preset for experiments that a learner
# runs in under a minute on two cores: fewer training questions, a smaller LSTM, more epochs.
PRESETS = {
    "book": dict(wordvec_size=16, hidden_size=256, batch_size=128, lr=0.001, max_grad=5.0,
                 epochs=10, train_size=None, test_size=None),
    "small": dict(wordvec_size=16, hidden_size=128, batch_size=64, lr=0.003, max_grad=5.0,
                  epochs=6, train_size=8000, test_size=1000),
}
RECORD_PATHS = {"book": "experiments.json", "small": "experiments-small.json"}


@dataclass(frozen=True)
class Config:
    """One run of the grid: which model, how the questions are fed (an ``ORDERS`` entry:
    ``"reversed"``, ``"as-written"`` or ``"left-padded"``), which seed."""

    model: str
    order: str
    seed: int

    def __post_init__(self):
        if self.model not in ALL_MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {list(ALL_MODELS)}")
        if self.order not in ORDERS:
            raise ValueError(f"unknown order {self.order!r}; choose one of {list(ORDERS)}")
        check_whole_number("seed", self.seed, 0)

    @property
    def name(self):
        """``"attention-reversed-seed0"``: the run's key in the record."""
        return f"{self.model}-{self.order}-seed{self.seed}"

    @classmethod
    def from_name(cls, name):
        model, _, rest = name.partition("-")
        order, _, seed = rest.rpartition("-")
        if not seed.startswith("seed") or not seed[4:].isdigit():
            raise ValueError(f"{name!r} is not a run name like 'attention-reversed-seed0'")
        return cls(model, order, int(seed[4:]))


def grid(models=tuple(MODELS), orders=("reversed", "as-written"), seeds=(0, 1, 2)):
    """Every Config, seed by seed (so that a grid cut short has whole seeds), attention first."""
    ranked = [m for m in ("attention", "peeky", "baseline", *VARIANTS, *TRANSFORMERS)
              if m in models]
    return [Config(m, o, s) for s in seeds for m in ranked for o in orders]


def preset_settings(preset, **changes):
    """A copy of a preset's settings, with some of them changed (``hidden_size=64``)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
    settings = dict(PRESETS[preset])
    unknown = set(changes) - set(settings)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; the settings are "
                         f"{sorted(settings)}")
    settings.update(changes)
    return settings


def same_training(a, b):
    """Whether two settings train the same way: all but the number of epochs agree."""
    return {k: v for k, v in a.items() if k != "epochs"} == \
        {k: v for k, v in b.items() if k != "epochs"}


# --- the data of a run ---------------------------------------------------------------------

_DATA_CACHE = {}


def left_pad(x, pad_id):
    """Questions (N, T) as written, with each one's trailing padding moved to the front."""
    out = np.empty_like(x)
    for row, ids in zip(out, x):
        n = len(ids) - np.flatnonzero(ids != pad_id).max() - 1 if (ids != pad_id).any() else 0
        row[:] = np.roll(ids, n)
    return out


def run_data(settings, order, path=None):
    """(x_train, t_train), (x_test, t_test), vocab for a run: the course's split of
    data/date.txt (its first train_size / test_size questions of each part, if set), with the
    questions in the given order. Cached per process."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {list(ORDERS)}")
    path = Path(path or default_data_path())
    train_size, test_size = settings["train_size"], settings["test_size"]
    key = (train_size, test_size, order, str(path))
    if key not in _DATA_CACHE:
        (x_train, t_train), (x_test, t_test), vocab = load_dates(
            path, reverse=order == "reversed")
        if order == "left-padded":
            pad = vocab.char_to_id[PAD]
            x_train, x_test = left_pad(x_train, pad), left_pad(x_test, pad)
        _DATA_CACHE[key] = ((x_train[:train_size], t_train[:train_size]),
                            (x_test[:test_size], t_test[:test_size]), vocab)
    return _DATA_CACHE[key]


def format_key(question):
    """The question format as the record counts it: ``"style/case"``, e.g. ``"full/upper"``;
    the short style (9/7/94) has no letters, so its case is ``"none"``."""
    style, case = question_format(question)
    return f"{style}/{case}"


def format_keys(x, vocab):
    """The format_key of every question in x (N, T)."""
    return [format_key(vocab.decode(q[::-1] if vocab.reversed else q)) for q in x]


def count_by_format(keys, right):
    """{format key: how many of its questions are right}, for every key in keys."""
    counts = {k: 0 for k in sorted(set(keys))}
    for k, ok in zip(keys, right):
        counts[k] += int(ok)
    return counts


# --- training one epoch, resumably --------------------------------------------------------

def build_model(name, vocab_size, wordvec_size, hidden_size, seed=0, pad_id=None):
    """The model called name (a ``MODELS``, ``VARIANTS`` or ``TRANSFORMERS`` key), with these
    sizes and seed; pad_id: the id of the padding, which the masked variants and the
    Transformers need. A Transformer has its own sizes (``TRANSFORMERS``) and ignores
    wordvec_size and hidden_size."""
    if name in MODELS:
        return MODELS[name](vocab_size, wordvec_size, hidden_size, seed=seed)
    if name in TRANSFORMERS:
        if pad_id is None:
            raise ValueError(f"the {name} model masks the padding: give its pad_id")
        return TransformerSeq2seq(vocab_size, **TRANSFORMERS[name], pad_id=pad_id, seed=seed)
    if name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}; choose one of {list(ALL_MODELS)}")
    options = dict(VARIANTS[name])
    if options.get("mask"):
        if pad_id is None:
            raise ValueError(f"the {name} model masks the padding: give its pad_id")
        options["pad_id"] = pad_id
    return AttentionVariant(vocab_size, wordvec_size, hidden_size, seed=seed, **options)


def training_products(name, batch_size, T_in, T_out, vocab_size, wordvec_size, hidden_size):
    """Every matrix product of one training iteration of the model called name (as
    ``build_model``; a Transformer has its own sizes and ignores wordvec_size and
    hidden_size): the counts of ``speed``, which ``make bench`` replays."""
    N, V, D, H = batch_size, vocab_size, wordvec_size, hidden_size
    if name in MODELS:
        return iteration_products(name, N, T_in, T_out, V, D, H)
    if name in TRANSFORMERS:
        return transformer_products(N, T_in, T_out, V, **TRANSFORMERS[name])
    if name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}; choose one of {list(ALL_MODELS)}")
    return variant_products(VARIANTS[name], N, T_in, T_out, V, D, H)


def model_cost(name, vocab_size, T_in, T_out, batch_size=128, wordvec_size=16,
               hidden_size=256):
    """The two sizes the chapters' cost tables print beside the timings: the model's
    parameter count and the GFLOP of its products in one training iteration (batch_size
    questions of width T_in, answers of T_out characters). Returns (parameters, GFLOP)."""
    model = build_model(name, vocab_size, wordvec_size, hidden_size, pad_id=0)
    products = training_products(name, batch_size, T_in, T_out, vocab_size, wordvec_size,
                                 hidden_size)
    return sum(p.size for p in model.params), gflop(products)


class Run:
    """A model, its optimizer and its trainer, built for a config and settings: the state that
    an epoch of training changes and that ``save_state`` stores."""

    def __init__(self, config, settings, vocab_size, pad_id=None):
        s = self.settings = dict(settings)
        self.config = config
        self.model = build_model(config.model, vocab_size, s["wordvec_size"], s["hidden_size"],
                                 seed=config.seed, pad_id=pad_id)
        self.optimizer = Adam(lr=s["lr"])
        self.trainer = Trainer(self.model, self.optimizer, seed=config.seed)
        self.epoch = 0

    def save_state(self, path):
        """Writes everything a resumed run needs (atomically): parameters, Adam's moments and
        step count, the shuffling generator's state, the epoch."""
        arrays = dict(zip(self.model.param_names, self.model.params))
        if self.optimizer.m is not None:
            for name, m, v in zip(self.model.param_names, self.optimizer.m, self.optimizer.v):
                arrays[f"adam.m.{name}"], arrays[f"adam.v.{name}"] = m, v
        meta = {"run": self.config.name, "settings": self.settings,
                "epoch": self.epoch, "adam_iter": self.optimizer.iter,
                "rng_state": self.trainer.rng.bit_generator.state}
        save_arrays(path, arrays, meta)

    def load_state(self, path):
        """Restores what save_state wrote; the run must be the same config and settings."""
        arrays, meta = read_checkpoint(path)
        if meta.get("run") != self.config.name or \
                not same_training(meta.get("settings") or {}, self.settings):
            raise ValueError(f"{path} holds run {meta.get('run')!r} with settings "
                             f"{meta.get('settings')}, not {self.config.name!r} with "
                             f"{self.settings}")
        names = self.model.param_names
        for name, p in zip(names, self.model.params):
            p[...] = arrays[name]
        if meta["adam_iter"] > 0:
            self.optimizer.m = [arrays[f"adam.m.{n}"].copy() for n in names]
            self.optimizer.v = [arrays[f"adam.v.{n}"].copy() for n in names]
        self.optimizer.iter = meta["adam_iter"]
        self.trainer.rng.bit_generator.state = meta["rng_state"]
        self.epoch = meta["epoch"]
        return self


def train_epoch(run, data, threads=None):
    """Trains run for one more epoch on data = ((x_train, t_train), (x_test, t_test), vocab)
    and returns the epoch's record (a dict; see the module docstring)."""
    (x_train, t_train), (x_test, t_test), vocab = data
    s = run.settings
    trainer = run.trainer
    first = len(trainer.loss_history)
    start = time.perf_counter()
    trainer.fit(x_train, t_train, epochs=1, batch_size=s["batch_size"],
                max_grad=s["max_grad"], progress=False, threads=threads)
    train_seconds = time.perf_counter() - start
    losses = np.array(trainer.loss_history[first:])
    norms = np.array(trainer.grad_norm_history[first:])
    # the record keeps what it needs; no need to grow the lists
    del trainer.loss_history[:], trainer.grad_norm_history[:]
    start = time.perf_counter()
    ids, _ = predict(run.model, x_test, t_test[:, 0], t_test.shape[1] - 1, threads=threads)
    char_right = ids == t_test[:, 1:]  # (N, A)
    right = char_right.all(axis=1)
    eval_seconds = time.perf_counter() - start
    run.epoch += 1
    curve = [float(losses[i:i + LOSS_WINDOW].mean()) for i in range(0, len(losses), LOSS_WINDOW)]
    return {"epoch": run.epoch, "loss": round(float(losses.mean()), 5),
            "loss_curve": [round(v, 5) for v in curve],
            "accuracy": float(right.mean()),
            "correct": count_by_format(format_keys(x_test, vocab), right),
            "correct_chars": [int(v) for v in char_right.sum(axis=0)],
            "grad_norm_median": round(float(np.median(norms)), 4),
            "grad_norm_max": round(float(norms.max()), 4),
            "grad_norms_above_5": int((norms > 5).sum()),
            "train_seconds": round(train_seconds, 2), "eval_seconds": round(eval_seconds, 3)}


def work_one_epoch(name, settings, state_dir, threads=None, checkpoints=None):
    """One more epoch of the run called name, resumed from its saved state in state_dir (if
    there is one), which is then saved again; returns (name, the epoch's record).
    checkpoints: {epoch: [paths]} to save the model to (``save_params``) after those epochs,
    with the vocabulary of its data (``load_model`` reads both back). A left-padded run's
    questions are laid out in a way no Vocabulary describes, so its checkpoints have none.
    This is what ``scripts/experiments.py`` runs, in a worker process or in its own."""
    config = Config.from_name(name)
    data = run_data(settings, config.order)
    run = Run(config, settings, len(data[2]), pad_id=data[2].char_to_id[PAD])
    state = Path(state_dir) / f"{name}.npz"
    if state.exists():
        run.load_state(state)
    entry = train_epoch(run, data, threads=threads)
    run.save_state(state)
    for path in (checkpoints or {}).get(run.epoch, []):
        vocab = None if config.order == "left-padded" else data[2]
        save_params(run.model, path, vocab=vocab, run=name, epochs=run.epoch,
                    settings=settings, reversed=config.order == "reversed", seed=config.seed,
                    accuracy=entry["accuracy"])
    return name, entry


def saved_epoch(state_dir, name):
    """The epoch that a run's saved state in state_dir is at (0 if there is none)."""
    path = Path(state_dir) / f"{name}.npz"
    return read_checkpoint(path)[1]["epoch"] if path.exists() else 0


# --- the record -----------------------------------------------------------------------------

def new_record(preset, settings=None, data_path=None):
    """An empty record: the preset's name, its settings, and the test questions' formats."""
    settings = settings or preset_settings(preset)
    (x_train, _), (x_test, _), vocab = run_data(settings, "as-written", data_path)
    keys = format_keys(x_test, vocab)
    return {"preset": preset, "settings": settings,
            "data": {"train_questions": len(x_train), "test_questions": len(x_test),
                     "test_formats": {k: keys.count(k) for k in sorted(set(keys))},
                     "loss_window": LOSS_WINDOW,
                     "iterations_per_epoch": len(x_train) // settings["batch_size"]},
            "runs": {}}


def write_json(path, obj):
    """Writes obj as JSON to path atomically (a temporary file renamed over it)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def machine():
    """The CPU's model name and the number of cores, for the record: "AMD EPYC, 2 cores"."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def record_path(preset="book"):
    """data/experiments.json (book preset) or data/experiments-small.json."""
    preset_settings(preset)
    return default_data_path().parent / RECORD_PATHS[preset]


def load_record(path_or_preset="book"):
    """Reads a record: a path, or a preset's name for the course's own record."""
    path = record_path(path_or_preset) if path_or_preset in PRESETS else Path(path_or_preset)
    return json.loads(Path(path).read_text())


def merge_records(*records):
    """One record holding the runs of several (``load_record``'s), for tables and figures that
    compare them: Part 3's variants (data/experiments-part3.json) beside chapter 7's models
    (data/experiments.json). They must have been trained with the same settings and data;
    a run in two records is refused."""
    first = records[0]
    merged = {**first, "runs": dict(first["runs"])}
    for other in records[1:]:
        if not same_training(other["settings"], first["settings"]) or \
                other["data"]["test_formats"] != first["data"]["test_formats"]:
            raise ValueError(f"records made with other settings or data cannot be compared: "
                             f"{first['settings']} and {other['settings']}")
        both = sorted(set(merged["runs"]) & set(other["runs"]))
        if both:
            raise ValueError(f"runs {both} are in two of the records")
        merged["runs"].update(other["runs"])
    merged["settings"] = {**first["settings"],
                          "epochs": max(r["settings"]["epochs"] for r in records)}
    return merged


def runs_of(record, model, order):
    """The runs of one model and question order in a record, by seed: [(seed, epochs), ...]."""
    out = []
    for name, run in record["runs"].items():
        c = Config.from_name(name)
        if c.model == model and c.order == order and run["epochs"]:
            out.append((c.seed, run["epochs"]))
    if not out:
        raise KeyError(f"the record has no run of {model} with {order} questions")
    return sorted(out)


def series(record, model, order, key="accuracy"):
    """A (seeds, epochs) array of one per-epoch figure (``"accuracy"``, ``"loss"``,
    ``"train_seconds"``, ...) for one model and order; only epochs every seed has reached."""
    runs = runs_of(record, model, order)
    n = min(len(epochs) for _, epochs in runs)
    return np.array([[e[key] for e in epochs[:n]] for _, epochs in runs])


def loss_curves(record, model, order):
    """The 20-iteration loss curves of one model and order over all epochs: a (seeds, points)
    array, and the iteration each point ends at (its last iteration, counted from 1)."""
    runs = runs_of(record, model, order)
    n = min(len(epochs) for _, epochs in runs)
    curves = np.array([[v for e in epochs[:n] for v in e["loss_curve"]] for _, epochs in runs])
    per_epoch = record["data"]["iterations_per_epoch"]
    window = record["data"]["loss_window"]
    ends = [e * per_epoch + min(i + window, per_epoch)
            for e in range(n) for i in range(0, per_epoch, window)]
    return curves, np.array(ends)


def format_accuracy(record, model, order, by="style"):
    """Accuracy per question style (or case) after every epoch: {label: (seeds, epochs)}.
    by: "style" (long, medium, full, short), "case" (title, lower, upper, none) or "format"
    (both: "full/upper")."""
    if by not in ("style", "case", "format"):
        raise ValueError(f"by must be 'style', 'case' or 'format', not {by!r}")
    totals = record["data"]["test_formats"]
    runs = runs_of(record, model, order)
    n = min(len(epochs) for _, epochs in runs)
    groups = {}
    for key in totals:
        style, case = key.split("/")
        groups.setdefault({"style": style, "case": case, "format": key}[by], []).append(key)
    out = {}
    for label, keys in groups.items():
        total = sum(totals[k] for k in keys)
        out[label] = np.array([[sum(e["correct"][k] for k in keys) / total for e in epochs[:n]]
                               for _, epochs in runs])
    return out


def summarize(record, key="accuracy"):
    """{(model, order): (mean, min, max)} over the seeds, each an array with one value an
    epoch, for every model and order in the record."""
    out = {}
    for model in ALL_MODELS:
        for order in ORDERS:
            try:
                values = series(record, model, order, key)
            except KeyError:
                continue
            out[(model, order)] = (values.mean(0), values.min(0), values.max(0))
    return out


def first_below(record, model, order, loss):
    """For each seed, the first iteration at which the 20-iteration mean loss is below loss
    (the last iteration of that window), or None if it never is: a (seeds,) list."""
    curves, ends = loss_curves(record, model, order)
    return [int(ends[np.argmax(c < loss)]) if (c < loss).any() else None for c in curves]


def first_epoch_reaching(record, model, order, accuracy):
    """For each seed, the first epoch after which the test accuracy is at least accuracy, or
    None if it never is: a (seeds,) list."""
    values = series(record, model, order)
    return [int(np.argmax(v >= accuracy)) + 1 if (v >= accuracy).any() else None
            for v in values]


def table(record, key="accuracy", models=tuple(MODELS), orders=("reversed", "as-written"),
          epochs=None):
    """A text table of one per-epoch figure: a row per model and order, a column per epoch,
    each cell the mean over the seeds and, below it, the range (lowest-highest). Accuracies are
    printed in percent, other figures as they are."""
    percent = key == "accuracy"

    def cell(v):
        return f"{v * 100:.1f}" if percent else f"{v:.3f}"

    rows = []
    for model in models:
        for order in orders:
            try:
                values = series(record, model, order, key)
            except KeyError:
                continue
            rows.append((f"{model}, {order}", values))
    if not rows:
        raise KeyError(f"the record has none of {list(models)} x {list(orders)}")
    shown = epochs or range(1, min(v.shape[1] for _, v in rows) + 1)

    def span(values, e):
        return cell(values[:, e - 1].min()) + "-" + cell(values[:, e - 1].max())

    # each column as wide as its widest cell, so that the table fits a page's column
    widths = {e: 2 + max([len(f"epoch {e}")] + [len(span(values, e)) for _, values in rows
                                                  if e <= values.shape[1]])
              for e in shown}
    # no gap after the names: every column starts with two spaces of its own
    name_width = max([len(name) for name, _ in rows] + [len(key) + 4 + 2 * percent])
    unit = " (%)" if percent else ""
    lines = [f"{key + unit:<{name_width}}" + "".join(f"{'epoch ' + str(e):>{widths[e]}}"
                                                     for e in shown)]
    for name, values in rows:
        n = len(values)
        have = [e for e in shown if e <= values.shape[1]]  # a grid still running has fewer
        means = "".join(f"{cell(values[:, e - 1].mean()):>{widths[e]}}" for e in have)
        ranges = "".join(f"{span(values, e):>{widths[e]}}" for e in have)
        lines.append(f"{name:<{name_width}}" + means)
        lines.append(f"{'  range of ' + str(n) + ' seeds':<{name_width}}" + ranges)
    return "\n".join(lines)
