"""Gradient checking: every backward pass against central differences.

For a parameter or input x and a scalar loss L, the central difference

    (L(x + eps) - L(x - eps)) / (2 eps)

approximates dL/dx with an error of order eps^2. In float64, with eps = 1e-5, a correct
backward pass agrees to about 1e-9 in relative terms, a wrong one usually to no digit at all.

A layer's output is turned into a scalar with fixed random weights R: L = sum(out * R), so
backward receives dout = R. ``check_layer`` and ``check_model`` return a ``GradCheck``, whose
printout is the table the book shows after each layer:

    parameter        shape      max abs diff   relative error
    lstm.Wx          (3, 16)        3.1e-11          2.2e-10
"""
import numpy as np


def numerical_gradient(f, x, eps=1e-5):
    """dL/dx by central differences. f() computes the loss from the current contents of x,
    which is changed element by element and restored."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        loss_plus = f()
        x[idx] = old - eps
        loss_minus = f()
        x[idx] = old
        grad[idx] = (loss_plus - loss_minus) / (2 * eps)
    return grad


def relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||): 0 when they agree, 1 when one of them is zero."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


class GradCheck:
    """The rows of a gradient check: (name, shape, max abs diff, relative error).

    ``unused`` names the rows whose numerical gradient is exactly zero: the loss does not
    depend on them at all. Their relative error is 0 whenever the backward pass also returns
    zeros, so agreement there proves nothing: a layer that ignored its bias, forward and
    backward, would pass. A test should expect ``unused`` to be empty, or name what is.
    """

    def __init__(self, rows, unused=()):
        self.rows = rows
        self.unused = list(unused)

    @property
    def max_relative_error(self):
        return max(row[3] for row in self.rows)

    def __str__(self):
        width = max([len("parameter")] + [len(row[0]) for row in self.rows])
        lines = [f"{'parameter':<{width}}  {'shape':<14}{'max abs diff':>14}{'relative error':>16}"]
        for name, shape, abs_diff, rel in self.rows:
            lines.append(f"{name:<{width}}  {str(shape):<14}{abs_diff:>14.1e}{rel:>16.1e}")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)


def _compare(name, analytic, f, x, eps, unused):
    numeric = numerical_gradient(f, x, eps)
    if not numeric.any():
        unused.append(name)
    return (name, x.shape, float(np.abs(analytic - numeric).max()), relative_error(analytic, numeric))


def _require_float64(arrays):
    for a in arrays:
        if a.dtype != np.float64:
            raise ValueError(f"gradient checks need float64 arrays, got {a.dtype}: "
                             "build the layer or model with dtype=np.float64")


def check_layer(layer, *inputs, input_names=None, seed=0, eps=1e-5):
    """Checks ``layer.backward`` for every parameter and every floating-point input.

    inputs: the arguments of ``layer.forward``; integer inputs (word ids, labels) are passed
    through unchecked. ``backward`` must return the gradients of the floating-point inputs in
    order (one array, or a tuple), as the book's layers do.
    """
    float_inputs = [x for x in inputs if np.issubdtype(np.asarray(x).dtype, np.floating)]
    _require_float64(list(layer.params) + float_inputs)
    if input_names is None:
        input_names = [f"input {k}" for k in range(len(float_inputs))]

    rng = np.random.default_rng(seed)
    out = layer.forward(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    weights = [rng.standard_normal(np.shape(o)) for o in outs]

    def loss():
        out = layer.forward(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        return sum(float((o * w).sum()) for o, w in zip(outs, weights))

    loss()
    dinputs = layer.backward(*weights)
    if not isinstance(dinputs, tuple):
        dinputs = () if dinputs is None else (dinputs,)
    analytic = [g.copy() for g in layer.grads]

    unused = []
    rows = [_compare(name, g, loss, p, eps, unused)
            for name, g, p in zip(layer.param_names, analytic, layer.params)]
    rows += [_compare(name, dx, loss, x, eps, unused)
             for name, dx, x in zip(input_names, dinputs, float_inputs)]
    return GradCheck(rows, unused)


def randomize_params(model, scale=0.5, seed=0):
    """Redraws every parameter of model from N(0, scale^2), in place, and returns the model.

    The book's initial word vectors are tiny (0.01), so many gradients of a fresh model are so
    small that central differences measure mostly rounding noise. Weights of order one give
    gradients of order one and a sharper check.
    """
    rng = np.random.default_rng(seed)
    for p in model.params:
        p[...] = scale * rng.standard_normal(p.shape)
    return model


def check_model(model, xs, ts, eps=1e-5):
    """Checks ``model.backward`` for every parameter, with the loss ``model.forward(xs, ts)``."""
    _require_float64(model.params)

    def loss():
        return float(model.forward(xs, ts))

    loss()
    model.backward()
    analytic = [g.copy() for g in model.grads]
    unused = []
    rows = [_compare(name, g, loss, p, eps, unused)
            for name, g, p in zip(model.param_names, analytic, model.params)]
    return GradCheck(rows, unused)
