"""The plotting helpers every chapter shares: attention heatmaps and training curves."""
import io

import matplotlib.pyplot as plt
import numpy as np


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
