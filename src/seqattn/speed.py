"""Where a training iteration spends its time: the matrix products it must do, a replay of them
alone (the floor no NumPy code can beat), a per-layer profile, and the BLAS thread setting.

The appendix "Making it fast" and ``make bench`` (bench/bench.py) are built on these.
"""
import os
import time
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

DEFAULT_BLAS_THREADS = 2


def _blas_threads_setting():
    """The BLAS thread count: $SEQATTN_BLAS_THREADS if set, else DEFAULT_BLAS_THREADS."""
    value = os.environ.get("SEQATTN_BLAS_THREADS", "")
    if not value:
        return DEFAULT_BLAS_THREADS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"SEQATTN_BLAS_THREADS must be a whole number of threads >= 1, "
                         f"not {value!r}")
    return int(value)


# The number of threads the BLAS library (OpenBLAS, under NumPy) may use while the package
# trains and evaluates. `make bench` measures 1 against 2 on our 2-core machine (the README
# gives the figures): 2 is faster on an otherwise idle machine, but when other programs keep
# the cores busy, OpenBLAS's threads wait for each other and 1 is much faster. Set
# SEQATTN_BLAS_THREADS=1 on a busy or shared machine.
BLAS_THREADS = _blas_threads_setting()


def blas_threads(n=None):
    """A context manager limiting the BLAS library to n threads (default BLAS_THREADS)."""
    return threadpool_limits(BLAS_THREADS if n is None else n, user_api="blas")


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
    return run


# --- a per-layer profile ----------------------------------------------------------------------

@contextmanager
def _timed_methods(layers, totals):
    """Wraps forward and backward of every named layer to add their seconds to totals."""
    originals = []
    for name, layer in layers.items():
        for method in ("forward", "backward"):
            original = getattr(layer, method)
            originals.append((layer, method))

            def timed(*args, _original=original, _key=(name, method), **kwargs):
                start = time.perf_counter()
                out = _original(*args, **kwargs)
                totals[_key] = totals.get(_key, 0.0) + time.perf_counter() - start
                return out
            setattr(layer, method, timed)
    try:
        yield
    finally:
        for layer, method in originals:
            delattr(layer, method)  # the class's method shows through again


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
