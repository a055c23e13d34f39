"""Where a training iteration spends its time: the matrix products it must do, a replay of them
alone (the floor no NumPy code can beat), a per-layer profile, and the BLAS thread setting.

The appendix "Making it fast" and ``make bench`` (bench/bench.py) are built on these.
"""
import os
import re
import time
import warnings
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from .checks import check_whole_number



def available_cores():
    """The number of cores this process may run on (its CPU affinity where the system
    reports one, else os.cpu_count())."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


# One BLAS thread where the process has 2 cores or fewer, else 2. Two threads win on an idle
# machine (`make bench`), but `make bench-threads` measured on our 2-core machine a training
# iteration with two BLAS threads 2.2 times slower than with one beside one other busy program,
# 4.2 times beside two, because OpenBLAS's threads wait for each other when a core is taken.
# On two cores, another program (a browser, a second notebook) is the usual case. (Evaluation
# on two cores, two batches side by side, was 1.5 times faster idle, about as fast beside one
# busy program and faster beside two: `threads=2` is worth asking for there.)
DEFAULT_BLAS_THREADS = 2 if available_cores() > 2 else 1


def _blas_threads_setting():
    """The BLAS thread count: $SEQATTN_BLAS_THREADS if set, else DEFAULT_BLAS_THREADS.

    The value must be ASCII digits (surrounding spaces allowed) for a number >= 1, else
    ValueError. A number above the cores this process may use is clamped to them, with a
    warning: more BLAS threads than cores only wait for each other (1000 made evaluation
    640 times slower on our 2-core machine).
    """
    value = os.environ.get("SEQATTN_BLAS_THREADS", "")
    if not value:
        return DEFAULT_BLAS_THREADS
    # a strict pattern: str.isdigit() also accepts "²" (which int() cannot read) and "٣"
    # (which int() reads as 3)
    if not re.fullmatch(r"[0-9]+", value.strip()) or int(value) < 1:
        raise ValueError(f"SEQATTN_BLAS_THREADS must be a whole number of threads >= 1, "
                         f"not {value!r}")
    return _at_most_the_cores(int(value), f"SEQATTN_BLAS_THREADS={value}")


def _at_most_the_cores(threads, what):
    cores = available_cores()
    if threads > cores:
        warnings.warn(f"{what} is more than the {cores} cores this process may use; using "
                      f"{cores}", RuntimeWarning, stacklevel=3)
        return cores
    return threads


def _blas_threads_at_import():
    """_blas_threads_setting(), except that a bad value warns and falls back to the default:
    `import seqattn` (and with it `make data`) must not fail over a setting only training and
    evaluation use."""
    try:
        return _blas_threads_setting()
    except ValueError as error:
        warnings.warn(f"{error}; using the default, {DEFAULT_BLAS_THREADS}", RuntimeWarning,
                      stacklevel=2)
        return DEFAULT_BLAS_THREADS


# The number of threads the BLAS library (OpenBLAS, under NumPy) may use while the package
# trains, and the cores evaluation uses (``train.predict``). SEQATTN_BLAS_THREADS sets it at
# import, ``set_blas_threads`` later. A bad value warns and falls back to DEFAULT_BLAS_THREADS;
# one above the available cores warns and is clamped to them.
BLAS_THREADS = _blas_threads_at_import()


def set_blas_threads(n=None):
    """Changes the BLAS thread count that training and evaluation use, in a running kernel:
    ``SEQATTN_BLAS_THREADS`` is read once, at import, and setting it later changes nothing.

    n: a whole number >= 1 (more than the available cores warns and is cut to them); None:
    read $SEQATTN_BLAS_THREADS again, or take the default. Returns the previous setting, so
    that ``old = set_blas_threads(1)`` ... ``set_blas_threads(old)`` restores it. A
    ``threads=`` argument of ``Trainer.fit``, ``evaluate`` or ``predict`` still wins.
    """
    global BLAS_THREADS
    if n is None:
        threads = _blas_threads_setting()
    else:
        check_whole_number("threads", n, 1)
        threads = _at_most_the_cores(n, f"{n} BLAS threads")
    previous, BLAS_THREADS = BLAS_THREADS, threads
    return previous


def blas_threads(n=None):
    """A context manager limiting the BLAS library to n threads (default BLAS_THREADS).

    An explicit n is used as given (a benchmark may want to oversubscribe on purpose); it
    must be a whole number >= 1."""
    if n is None:
        n = BLAS_THREADS
    else:
        check_whole_number("threads", n, 1)
    return threadpool_limits(n, user_api="blas")


# --- the matrix products of one training iteration --------------------------------------------
# A product is (batch, m, k, n, a_transposed, b_transposed): `batch` products of an (m, k) and a
# (k, n) matrix, either possibly stored transposed (as W.T is).

def lstm_products(N, T, D, H, stateful):
    """TimeLSTM, forward: the input projection of all T steps, then one h @ Wh per step.
    Backward: one dA @ Wh.T per step (not for the first step of a stateless LSTM), then dWx,
    dWh and dxs in one product each."""
    return ([(1, T * N, D, 4 * H, False, False)] + [(1, N, H, 4 * H, False, False)] * T
            + [(1, N, 4 * H, H, False, True)] * (T if stateful else T - 1)
            + [(1, D, T * N, 4 * H, True, False), (1, H, T * N, 4 * H, True, False),
               (1, T * N, 4 * H, D, False, True)])


def affine_products(M, D, V):
    """TimeAffine on M = N * T rows: forward, then dW and dx."""
    return [(1, M, D, V, False, False), (1, D, M, V, True, False), (1, M, V, D, False, True)]


def attention_products(N, T_in, T_out, H):
    """BatchedTimeAttention: scores and contexts forward, four batched products backward."""
    return [(N, T_out, H, T_in, False, True), (N, T_out, T_in, H, False, False),
            (N, T_out, H, T_in, False, True), (N, T_in, T_out, H, True, False),
            (N, T_in, T_out, H, True, False), (N, T_out, T_in, H, False, False)]


def iteration_products(model_name, N, T_in, T_out, V, D, H):
    """Every matrix product of one training iteration of "baseline" (Seq2seq), "peeky" or
    "attention" (AttentionSeq2seq). Embedding lookups and elementwise work are not products."""
    encoder = lstm_products(N, T_in, D, H, stateful=False)
    if model_name == "baseline":
        return encoder + lstm_products(N, T_out, D, H, True) + affine_products(N * T_out, H, V)
    if model_name == "peeky":
        return (encoder + lstm_products(N, T_out, H + D, H, True)
                + affine_products(N * T_out, 2 * H, V))
    if model_name == "attention":
        return (encoder + lstm_products(N, T_out, D, H, True)
                + attention_products(N, T_in, T_out, H) + affine_products(N * T_out, 2 * H, V))
    raise ValueError(f"unknown model {model_name!r}: choose baseline, peeky or attention")


def gflop(products):
    """Floating-point operations of the products, in billions (a multiply-add counts 2)."""
    return sum(2 * b * m * k * n for b, m, k, n, _, _ in products) / 1e9


def replay(products, rng, dtype=np.float32):
    """A function that runs just these products, on random operands made once: the time it
    takes is the floor for an iteration that has to do them."""
    operands = []
    for b, m, k, n, a_t, b_t in products:
        a = rng.standard_normal((b, k, m) if a_t else (b, m, k)).astype(dtype)
        w = rng.standard_normal((b, n, k) if b_t else (b, k, n)).astype(dtype)
        a = a.transpose(0, 2, 1) if a_t else a
        w = w.transpose(0, 2, 1) if b_t else w
        operands.append((a[0], w[0]) if b == 1 else (a, w))

    def run():
        for a, w in operands:
            a @ w
    run.operands = operands  # [(a, w)]: what each product multiplies, for a look (and the tests)
    return run


# --- a per-layer profile ----------------------------------------------------------------------

@contextmanager
def _timed_methods(layers, totals):
    """Wraps forward and backward of every named layer to add their seconds to totals."""
    originals = []
    for name, layer in layers.items():
        for method in ("forward", "backward"):
            original = getattr(layer, method)
            # None: the class's method; else a method set on this very object, put back after
            originals.append((layer, method, vars(layer).get(method)))

            def timed(*args, _original=original, _key=(name, method), **kwargs):
                start = time.perf_counter()
                out = _original(*args, **kwargs)
                totals[_key] = totals.get(_key, 0.0) + time.perf_counter() - start
                return out
            setattr(layer, method, timed)
    try:
        yield
    finally:
        for layer, method, own in originals:
            if own is None:
                delattr(layer, method)  # the class's method shows through again
            else:
                setattr(layer, method, own)


def profile_iteration(model, optimizer, x, t, clip, repeats=10):
    """Times each layer's forward and backward, and the update, over ``repeats`` training
    iterations on (x, t); returns [(part, milliseconds per iteration)], slowest first, with the
    total. Layers nest (the attention layer is timed inside nothing else here)."""
    from .optim import clip_grads

    layers = {}
    for part in ("encoder", "decoder"):
        for name, layer in vars(getattr(model, part)).items():
            if hasattr(layer, "forward") and hasattr(layer, "backward"):
                layers[f"{part}.{name}"] = layer
    layers["softmax"] = model.softmax
    totals = {}
    with _timed_methods(layers, totals):
        start = time.perf_counter()
        for _ in range(repeats):
            model.forward(x, t)
            model.backward()
            update_start = time.perf_counter()
            clip_grads(model.grads, clip)
            optimizer.update(model.params, model.grads)
            totals[("clip + Adam", "")] = (totals.get(("clip + Adam", ""), 0.0)
                                           + time.perf_counter() - update_start)
        total = time.perf_counter() - start
    rows = [(f"{name} {method}".strip(), 1e3 * s / repeats) for (name, method), s in totals.items()]
    rows.sort(key=lambda row: -row[1])
    accounted = sum(ms for _, ms in rows)
    rows.append(("everything else (model glue, Python)", 1e3 * total / repeats - accounted))
    rows.append(("total", 1e3 * total / repeats))
    return rows


def additive_products(N, T_in, T_out, H, A, steps=1):
    """AdditiveScore: the keys projected once (hs @ Wk) and the queries (qs @ Wq) in ``steps``
    calls of N * T_out / steps rows, the score read out by v (E @ v), each with its backward
    products (dWk, dhs, dWq, dqs, dv). tanh and the sums over T are not products."""
    M = N * T_out // steps
    per_step = [(1, M * T_in, A, 1, False, False),  # E @ v
                (1, M, H, A, False, False),  # qs @ Wq
                (1, A, M * T_in, 1, True, False),  # dv
                (1, H, M, A, True, False), (1, M, A, H, False, True)]  # dWq, dqs
    return ([(1, N * T_in, H, A, False, False)] + per_step * steps
            + [(1, H, N * T_in, A, True, False), (1, N * T_in, A, H, False, True)])


def variant_products(options, N, T_in, T_out, V, D, H):
    """Every matrix product of one training iteration of an ``AttentionVariant`` with these
    options (a ``VARIANTS`` entry: placement, score, encoder, layers, ...). As
    ``iteration_products``: elementwise work, the softmax and the mask are not products."""
    placement = options.get("placement", "luong")
    score = options.get("score", "dot")
    layers = options.get("layers", 1)
    if options.get("encoder", "lstm") == "bilstm":
        encoder = 2 * lstm_products(N, T_in, D, H // 2, stateful=False)
    else:
        encoder = [p for k in range(layers)
                   for p in lstm_products(N, T_in, D if k == 0 else H, H, stateful=False)]
    if placement == "luong":
        decoder = [p for k in range(layers)
                   for p in lstm_products(N, T_out, D if k == 0 else H, H, stateful=True)]
        steps, T_q = 1, T_out
    else:  # one LSTM cell per step on [x_t, c_t]: forward, then dWx, dWh, dx, dh
        cell = [(1, N, D + H, 4 * H, False, False), (1, N, H, 4 * H, False, False),
                (1, D + H, N, 4 * H, True, False), (1, H, N, 4 * H, True, False),
                (1, N, 4 * H, D + H, False, True), (1, N, 4 * H, H, False, True)]
        decoder = cell * T_out
        steps, T_q = T_out, 1
    # the weighted sum (contexts = a @ hs) and its backward: per step of T_q queries
    weighted = [(N, T_q, T_in, H, False, False), (N, T_q, H, T_in, False, True),
                (N, T_in, T_q, H, True, False)] * steps
    if score == "additive":
        scores = additive_products(N, T_in, T_out, H, H, steps)
    else:  # q @ hs^T, and its backward: dqs = ds @ hs, dhs = ds^T @ qs
        scores = [(N, T_q, H, T_in, False, True), (N, T_q, T_in, H, False, False),
                  (N, T_in, T_q, H, True, False)] * steps
    return encoder + decoder + scores + weighted + affine_products(N * T_out, 2 * H, V)


def multi_head_products(N, Tq, Tk, D, heads):
    """MultiHeadAttention on Tq queries and Tk keys: the four projections (forward, dW, dx),
    the scores q k^T and the weighted sum a v per head, and their backward (dv, da, dq, dk)."""
    Mq, Mk, d, B = N * Tq, N * Tk, D // heads, N * heads
    projections = [(1, M, D, D, False, False) for M in (Mq, Mk, Mk, Mq)]
    projections += [(1, D, M, D, True, False) for M in (Mq, Mk, Mk, Mq)]  # dWq, dWk, dWv, dWo
    projections += [(1, M, D, D, False, True) for M in (Mq, Mk, Mk, Mq)]  # dx of each
    heads_ = [(B, Tq, d, Tk, False, True), (B, Tq, Tk, d, False, False),  # q k^T, a v
              (B, Tk, Tq, d, True, False), (B, Tq, d, Tk, False, True),  # dv, da
              (B, Tq, Tk, d, False, False), (B, Tk, Tq, d, True, False)]  # dq, dk
    return projections + heads_


def feed_forward_products(M, D, F):
    """FeedForward on M rows: two products forward, four backward."""
    return [(1, M, D, F, False, False), (1, M, F, D, False, False),
            (1, F, M, D, True, False), (1, M, D, F, False, True),
            (1, D, M, F, True, False), (1, M, F, D, False, True)]


def transformer_products(N, T_in, T_out, V, d_model, heads, layers, d_ff):
    """Every matrix product of one training iteration of a ``TransformerSeq2seq``: per encoder
    layer a self-attention and a feed-forward block; per decoder layer a causal
    self-attention (the masked half of its scores is computed too), a cross-attention and a
    feed-forward block; then the output Affine. LayerNorm, softmax and embedding lookups are
    not products."""
    D, F = d_model, d_ff
    encoder = (multi_head_products(N, T_in, T_in, D, heads)
               + feed_forward_products(N * T_in, D, F)) * layers
    decoder = (multi_head_products(N, T_out, T_out, D, heads)
               + multi_head_products(N, T_out, T_in, D, heads)
               + feed_forward_products(N * T_out, D, F)) * layers
    return encoder + decoder + affine_products(N * T_out, D, V)


def bench_iteration_seconds(results, threads=1):
    """{model name: median seconds of one training iteration} from ``make bench``'s figures.

    results: the parsed JSON that bench/bench.py writes (``--json``): its ``results`` (chapters
    3-8's models, timed as "ours"), its ``variants`` (Part 3's ``AttentionVariant``s) and its
    ``transformers`` (Part 4's), where it has them.
    threads: the BLAS thread setting whose timings to read; ValueError if the file has none.
    """
    if not isinstance(results, dict) or "results" not in results:
        raise ValueError("not the figures of make bench: a dict with 'results' (and 'variants') "
                         "is expected, as bench/bench.py --json writes it")
    key = f"ours|{threads}"
    seconds = {}
    for section in ("results", "variants", "transformers"):
        for name, figures in results.get(section, {}).items():
            if key not in figures["iteration"]:
                raise ValueError(f"make bench did not time {name!r} with {threads} BLAS "
                                 f"thread(s); it has {sorted(figures['iteration'])}")
            seconds[name] = figures["iteration"][key]
    return seconds
