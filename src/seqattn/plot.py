"""The plotting helpers every chapter shares: attention heatmaps, training curves and
computation graphs.

Legible on a phone: the book shows a figure at 100 dpi at its own size, and a phone shrinks it
to its column, about 358 px of a 390 px screen. Text of `pt` points in a figure `w` inches wide
then shows at pt * 358 / (72 * w) px whatever the dpi, so for 9 px or more a figure needs
pt >= 1.81 * w: 10 pt up to 5.5 inches wide, 11 pt up to 6 inches. The helpers keep to that
(`min_font_pt` gives the size for a width, `legible` raises every text of a figure to it).
"""
import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

PHONE_COLUMN_PX = 358  # the text column of a 390 px screen
MIN_TEXT_PX = 9


def min_font_pt(width_inches):
    """The smallest font size (points) that shows at MIN_TEXT_PX or more on a phone, in a figure
    whose drawing is width_inches wide (bbox_inches="tight" adds 0.1 inch on either side);
    never below 10."""
    return max(10.0, MIN_TEXT_PX * 72 * (width_inches + 0.25) / PHONE_COLUMN_PX)


def legible(fig, pt=None):
    """Raises every text of fig (tick labels, axis labels, titles, legends, annotations) to at
    least pt points, by default min_font_pt of the figure's width; returns fig."""
    for _ in range(2):  # larger text makes the figure's tight box wider: once more
        fig.canvas.draw()  # creates the tick labels, so that findobj sees them
        width = fig.get_tightbbox(fig.canvas.get_renderer()).width  # inches
        size = pt or min_font_pt(max(width, fig.get_figwidth()))
        for ax in fig.axes:
            ax.tick_params(which="both", labelsize=max(size, _tick_size(ax)))
        for text in fig.findobj(Text):
            if text.get_text().strip() and text.get_fontsize() < size:
                text.set_fontsize(size)
    return fig


def _tick_size(ax):
    labels = ax.get_xticklabels() + ax.get_yticklabels()
    return max((t.get_fontsize() for t in labels), default=0)


HEATMAP_PT = 11


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
        # 0.17 inches a character: a question of 29 characters makes a map 6.1 inches wide,
        # whose 11 pt text still shows at 9 px on a phone
        _, ax = plt.subplots(figsize=(0.17 * len(question) + 1.2, 0.17 * len(answer) + 1.1))
    image = ax.imshow(attention, cmap="Greys", vmin=0, vmax=1, aspect="equal")
    ax.set_xticks(range(len(question)), [c if c != " " else "·" for c in question],
                  fontsize=HEATMAP_PT)
    ax.set_yticks(range(len(answer)), list(answer), fontsize=HEATMAP_PT)
    ax.set_xlabel("question (input)", fontsize=HEATMAP_PT)
    ax.set_ylabel("answer (output)", fontsize=HEATMAP_PT)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=HEATMAP_PT)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.025, pad=0.02)
    bar.ax.tick_params(labelsize=HEATMAP_PT)
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
        _, axes = plt.subplots(1, 2, figsize=(6.2, 3.0), layout="constrained")
    loss_ax, acc_ax = axes
    for name, history in loss_history.items():
        n = len(history) // smooth * smooth
        means = np.asarray(history[:n]).reshape(-1, smooth).mean(axis=1)
        loss_ax.plot(np.arange(1, len(means) + 1) * smooth, means, label=name or None)
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel(f"training loss\n(mean of {smooth} iterations)")
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
    legible(axes[0].figure)
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
    # Text at 10 pt (edge labels 8 pt): 11 px and more where the graph shows at its own size, as
    # on a desktop. Graphs are wider than a phone's column: the chapters show them in a box that
    # scrolls sideways there (the cell tag scroll-figure), never shrunk to unreadable text.
    pt = 10
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
        ax.text(x, y, label, ha="center", va="center", fontsize=pt, zorder=4)
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
        ax.text((x0 + x1) / 2, top - 0.2, title, ha="center", va="center", fontsize=pt + 1)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, top)
    ax.axis("off")
    return ax


MODEL_COLORS = {"baseline": "#1f77b4", "peeky": "#ff7f0e", "attention": "#2ca02c",
                # Part 3's variants (seqattn.attention_variants.VARIANTS)
                "luong_scaled": "#17becf", "luong_additive": "#9467bd",
                "bahdanau_dot": "#d62728", "bahdanau_additive": "#8c564b",
                "masked": "#e377c2", "bilstm": "#7f7f7f", "deep2": "#bcbd22",
                "deep2_skip": "#000000", "deep4": "#aec7e8", "deep4_skip": "#393b79",
                # Part 4's Transformers (seqattn.transformer.TRANSFORMERS)
                "transformer": "#d62728", "transformer_d32": "#ff9896",
                "transformer_d128": "#8c564b", "transformer_l1": "#9467bd",
                "transformer_l3": "#17becf", "transformer_h1": "#7f7f7f"}
MODEL_LABELS = {"baseline": "Seq2seq", "peeky": "PeekySeq2seq", "attention": "AttentionSeq2seq",
                "luong_scaled": "Luong, scaled dot", "luong_additive": "Luong, additive",
                "bahdanau_dot": "Bahdanau, dot", "bahdanau_additive": "Bahdanau, additive",
                "masked": "masked padding", "bilstm": "BiLSTM + mask", "deep2": "2 layers",
                "deep2_skip": "2 layers + skip", "deep4": "4 layers",
                "deep4_skip": "4 layers + skip", "transformer": "Transformer",
                "transformer_d32": "Transformer, D = 32", "transformer_d128": "Transformer, D = 128",
                "transformer_l1": "Transformer, 1 layer", "transformer_l3": "Transformer, 3 layers",
                "transformer_h1": "Transformer, 1 head"}
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

    own = axes is None
    if own:
        # two columns in 6.7 inches, the legend below them: 12 pt text (legible) shows at 9 px
        # on a phone
        _, axes = plt.subplots(2, len(orders), figsize=(3.1 * len(orders) + 0.5, 6.6),
                               sharey="row", squeeze=False, layout="constrained")
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
    axes[0, 0].set_ylabel("training loss\n(mean of 20 iterations)")
    axes[1, 0].set_ylabel("test accuracy (%)")
    if own:
        fig = axes[0, 0].figure
        fig.legend(*axes[1, 0].get_legend_handles_labels(), loc="outside lower center")
        legible(fig)
    else:
        axes[1, 0].legend(loc="center right", fontsize=9)
        axes[0, 0].figure.tight_layout()
    return axes
