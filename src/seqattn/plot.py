"""The plotting helpers every chapter shares: attention heatmaps, training curves and
computation graphs."""
import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


def show_heatmap(attention, question, answer, ax=None, title=None):
    """Draws one attention map: attention (len(answer), len(question)) with the question's
    characters along x and the answer's along y; returns the Axes.

    Row k shows how the weight of output character k is spread over the input characters.
    The padding of a question is drawn as '·' so that the reader can see where it is.
    """
    attention = np.asarray(attention)
    if attention.shape != (len(answer), len(question)):
        raise ValueError(f"attention has shape {attention.shape}, but the answer and question "
                         f"have {len(answer)} and {len(question)} characters")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.26 * len(question) + 1.2, 0.26 * len(answer) + 1.0))
    image = ax.imshow(attention, cmap="Greys", vmin=0, vmax=1, aspect="equal")
    ax.set_xticks(range(len(question)), [c if c != " " else "·" for c in question], fontsize=8)
    ax.set_yticks(range(len(answer)), list(answer), fontsize=8)
    ax.set_xlabel("question (input)")
    ax.set_ylabel("answer (output)")
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=9)
    ax.figure.colorbar(image, ax=ax, fraction=0.025, pad=0.02)
    return ax


def plot_training(loss_history, accuracies, smooth=20, axes=None):
    """The loss curve beside the accuracy curve.

    loss_history: one loss per iteration (a list), or {model name: list}.
    accuracies: test accuracy after each epoch: a list, or {model name: list}.
    smooth: the loss is averaged over windows of this many iterations.
    """
    if not isinstance(loss_history, dict):
        loss_history = {"": loss_history}
    if not isinstance(accuracies, dict):
        accuracies = {"": accuracies}
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    loss_ax, acc_ax = axes
    for name, history in loss_history.items():
        n = len(history) // smooth * smooth
        means = np.asarray(history[:n]).reshape(-1, smooth).mean(axis=1)
        loss_ax.plot(np.arange(1, len(means) + 1) * smooth, means, label=name or None)
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel(f"training loss (mean of {smooth} iterations)")
    for name, accs in accuracies.items():
        acc_ax.plot(range(1, len(accs) + 1), np.asarray(accs) * 100, marker="o",
                    label=name or None)
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("test accuracy (%)")
    acc_ax.set_ylim(-5, 105)
    acc_ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes:
        ax.grid(alpha=0.3)
        if any(line.get_label() and not line.get_label().startswith("_") for line in ax.lines):
            ax.legend()
    return axes


def figure_png(fig, dpi=100):
    """The PNG bytes of a figure, which is then closed (for widgets that show images)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


GRAPH_COLORS = {"data": ("#dbe9f6", "#2b6ca3"), "op": ("#fde3c8", "#c0641a"),
                "layer": ("#e3f1df", "#3d7a33")}


def draw_graph(nodes, edges, title=None):
    """Draws a small computation graph in one compact style; returns the Axes.

    nodes: {name: (x, y, label, kind)}, positions in inches; kind is "data" (an array, blue
    box), "op" (an operation, orange) or "layer" (a layer, green). Boxes are sized to the label.
    edges: (source, target, label) or (source, target, label, options), an arrow from source to
    target labelled with, say, the shape of what flows along it. options: "color", "ls" (line
    style), "rad" (curvature, as matplotlib's arc3) and "at" (the label's (x, y)).
    """
    sizes = {name: (0.09 * len(label) + 0.22, 0.32) for name, (_, _, label, _) in nodes.items()}
    x0 = min(x - sizes[name][0] / 2 for name, (x, *_) in nodes.items()) - 0.3
    x1 = max(x + sizes[name][0] / 2 for name, (x, *_) in nodes.items()) + 0.3
    y0 = min(y for _, y, *_ in nodes.values()) - 0.5
    y1 = max(y for _, y, *_ in nodes.values()) + 0.5
    top = y1 + (0.3 if title else 0)
    fig = plt.figure(figsize=(x1 - x0, top - y0))
    ax = fig.add_axes((0, 0, 1, 1))  # one data unit is one inch, so the boxes fit their labels
    boxes = {}
    for name, (x, y, label, kind) in nodes.items():
        w, h = sizes[name]
        face, edge = GRAPH_COLORS[kind]
        rounding = 0.16 if kind == "op" else 0.06
        boxes[name] = FancyBboxPatch((x - w / 2, y - h / 2), w, h, fc=face, ec=edge, lw=1.2,
                                     boxstyle=f"round,pad=0,rounding_size={rounding}", zorder=3)
        ax.add_patch(boxes[name])
        ax.text(x, y, label, ha="center", va="center", fontsize=10, zorder=4)
    for source, target, label, *rest in edges:
        options = rest[0] if rest else {}
        color = options.get("color", "black")
        (xa, ya), (xb, yb) = nodes[source][:2], nodes[target][:2]
        # patchA/patchB clip the arrow at the boxes' edges
        ax.add_patch(FancyArrowPatch((xa, ya), (xb, yb), arrowstyle="-|>", mutation_scale=11,
                                     color=color, lw=1.2, ls=options.get("ls", "-"),
                                     connectionstyle=f"arc3,rad={options.get('rad', 0)}",
                                     patchA=boxes[source], patchB=boxes[target],
                                     shrinkA=1, shrinkB=1, zorder=2))
        if label:
            x, y = options.get("at", ((xa + xb) / 2, (ya + yb) / 2 + 0.04))
            ax.text(x, y, label, ha="center", va="bottom", fontsize=8, color=color, zorder=4,
                    bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.8))
    if title:
        ax.text((x0 + x1) / 2, top - 0.2, title, ha="center", va="center", fontsize=11)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, top)
    ax.axis("off")
    return ax


MODEL_COLORS = {"baseline": "#1f77b4", "peeky": "#ff7f0e", "attention": "#2ca02c"}
MODEL_LABELS = {"baseline": "Seq2seq", "peeky": "PeekySeq2seq", "attention": "AttentionSeq2seq"}
ORDER_LABELS = {"reversed": "reversed questions", "as-written": "questions as written",
                "left-padded": "as written, padding in front"}


def plot_band(ax, x, values, color, label=None, marker=None):
    """The mean over the rows of values (runs, points) as a line, and the range from the
    lowest to the highest run as a band of the same colour."""
    values = np.asarray(values)
    ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=0.25, lw=0)
    ax.plot(x, values.mean(axis=0), color=color, label=label, marker=marker, ms=4, lw=1.6)


def plot_record(record, models=("baseline", "peeky", "attention"),
                orders=("reversed", "as-written"), plateau=None, axes=None):
    """A record of experiments (``seqattn.experiment``) as a grid of plots: one column per
    question order; the training loss (the mean of every 20 iterations) on top, the test
    accuracy after every epoch below. Each model is one colour: its mean over the seeds as a
    line, their range (lowest to highest) as a band. plateau: draw this loss as a dotted line.
    Returns the axes (2, len(orders))."""
    from . import experiment  # here, not at the top: experiment imports the models

    if axes is None:
        _, axes = plt.subplots(2, len(orders), figsize=(5.2 * len(orders), 6.4), sharey="row",
                               squeeze=False)
    for column, order in zip(axes.T, orders):
        loss_ax, acc_ax = column
        for model in models:
            curves, ends = experiment.loss_curves(record, model, order)
            accuracy = experiment.series(record, model, order)
            label = f"{MODEL_LABELS[model]} ({len(accuracy)} seed{'s' * (len(accuracy) > 1)})"
            color = MODEL_COLORS[model]
            plot_band(loss_ax, ends, curves, color, label)
            plot_band(acc_ax, np.arange(1, accuracy.shape[1] + 1), accuracy * 100, color,
                      label, marker="o")
        if plateau is not None:
            loss_ax.axhline(plateau, color="0.3", ls=":", lw=1)
        loss_ax.set_yscale("log")
        loss_ax.set_title(ORDER_LABELS.get(order, order), fontsize=11)
        loss_ax.set_xlabel("iteration")
        acc_ax.set_xlabel("epoch")
        acc_ax.set_ylim(-3, 103)
        acc_ax.xaxis.get_major_locator().set_params(integer=True)
        for ax in column:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("training loss (mean of 20 iterations)")
    axes[1, 0].set_ylabel("test accuracy (%)")
    axes[1, 0].legend(loc="center right", fontsize=9)
    axes[0, 0].figure.tight_layout()
    return axes
