"""The attention browser of chapter 8: maps drawn in advance, one page per question and epoch,
and two controls that switch between them in the browser, so that it works in the static book.

A slider, with a number box beside it, picks the question and a row of buttons the epoch. They
are tied to the pages with ``widgets.jslink``, which runs in JavaScript: no Python runs when the
reader moves them, so no kernel is needed. The pages sit in Stacks within a Stack (a ``Stack``
shows one of its children): the outer one has one child per epoch, each of those has one page per
question, and the slider drives all of them, so that question k is the same question at every
epoch.
"""
import html
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from ipywidgets.widgets.widget_string import HTMLStyle
from PIL import Image

from .plot import figure_png, show_heatmap


# The map's size in inches and its text in points. A phone shows the image shrunk to its column
# (about 358 px of a 390 px screen), so the text shows at FONT_PT * 358 / (72 * width in inches)
# px whatever the dpi: 11 pt in at most 6 inches keeps it at 9 px or more. On a desktop the image
# keeps its own size, FONT_PT * dpi / 72 px: 12 px at 80 dpi.
MAP_SIZE = (5.6, 2.3)
FONT_PT = 11


def map_png(attention, question, answer, dpi=80, colors=32):
    """One attention map as PNG bytes, small enough to store by the hundred: drawn with
    show_heatmap (question padded to its full width, as the columns are), then reduced to a
    palette of a few colours. A grey map needs no more, and the file shrinks to about a third."""
    fig, ax = plt.subplots(figsize=MAP_SIZE)
    show_heatmap(attention, question, answer, ax=ax)
    # every text, the colour bar's too, at FONT_PT: legible when a phone shrinks the image
    for axes in fig.axes:
        axes.tick_params(labelsize=FONT_PT)
        axes.xaxis.label.set_fontsize(FONT_PT)
        axes.yaxis.label.set_fontsize(FONT_PT)
    image = Image.open(io.BytesIO(figure_png(fig, dpi=dpi)))  # the figure is closed
    out = io.BytesIO()
    image.convert("RGB").quantize(colors).save(out, format="png", optimize=True)
    return out.getvalue()


def head_pngs(maps, start="_", dpi=80, colors=32):
    """A Transformer head's two maps for each of several questions, one above the other, as
    small PNGs (a list, one per item of maps).

    maps: (cross, decoder_self, question, answer) items: the head's cross-attention cross
    (A, T) over the question (padded to T), and the decoder's self-attention decoder_self
    (A, A) over the answer so far (row k reads the start character and the answer's characters
    before k; the causal mask leaves the upper right empty). One figure is drawn and laid out
    once, then given each item's weights and labels: drawing a new figure per map took
    several times as long.
    """
    fig = None
    pngs = []
    for cross, decoder_self, question, answer in maps:
        inputs = start + answer[:len(answer) - 1]
        if fig is None:
            fig, (top, bottom) = plt.subplots(
                2, 1, figsize=(MAP_SIZE[0], 2 * MAP_SIZE[1] + 0.3),
                gridspec_kw=dict(height_ratios=[1, 1.15]))
            show_heatmap(cross, question, answer, ax=top, title="cross-attention: the question")
            show_heatmap(decoder_self, inputs, answer, ax=bottom)
            bottom.images[0].colorbar.remove()  # the same scale as the map above
            bottom.set_title("decoder self-attention: the answer so far", loc="left")
            bottom.set_xlabel("answer so far (input)")
            for axes in fig.axes:
                axes.tick_params(labelsize=FONT_PT)
                axes.xaxis.label.set_fontsize(FONT_PT)
                axes.yaxis.label.set_fontsize(FONT_PT)
                axes.title.set_fontsize(FONT_PT)
            top.set_anchor("W")
            bottom.set_anchor("W")
            fig.tight_layout()
        for axes, weights, columns in ((top, cross, question), (bottom, decoder_self, inputs)):
            if np.shape(weights) != (len(answer), len(columns)):
                raise ValueError(f"weights of shape {np.shape(weights)} for an answer of "
                                 f"{len(answer)} and {len(columns)} columns")
            axes.images[0].set_data(weights)
            axes.set_xticks(range(len(columns)), [c if c != " " else "·" for c in columns])
            axes.set_yticks(range(len(answer)), list(answer))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        out = io.BytesIO()
        Image.open(buffer).convert("RGB").quantize(colors).save(out, format="png", optimize=True)
        pngs.append(out.getvalue())
    if fig is not None:
        plt.close(fig)
    return pngs


# All pages share these: each Layout and Style is a widget model that the page must store and
# load, so sharing them keeps it light. The image shrinks to fit a phone, and keeps its own size
# otherwise (flex-start: it does not stretch to the width of its text).
_IMAGE_LAYOUT = widgets.Layout(max_width="100%", height="auto")
_PAGE_LAYOUT = widgets.Layout(align_items="flex-start")
_TEXT_LAYOUT = widgets.Layout()
_TEXT_STYLE = HTMLStyle()


def page(epoch, title, question, truth, answer, png, label=None):
    """One page: a line of text (the epoch, what the question is, the truth, the model's
    answer and whether it is right) above the map png. label: shown instead of "epoch N"
    (a browser of several models labels each page with its model)."""
    if answer == truth:
        verdict = "<b style='color:green'>✓ right</b>"
    else:
        verdict = "<b style='color:#c00'>✗ wrong</b>"
    code = "<code>{}</code>".format
    label = f"epoch {epoch}" if label is None else label
    line = (f"<b>{html.escape(str(label))}</b> · {html.escape(title)}: "
            f"{code(html.escape(question))}<br>truth {code(html.escape(truth))} · "
            f"model {code(html.escape(answer))} · {verdict}")
    text = widgets.HTML(line, layout=_TEXT_LAYOUT, style=_TEXT_STYLE)
    image = widgets.Image(value=png, format="png", layout=_IMAGE_LAYOUT)
    return widgets.VBox([text, image], layout=_PAGE_LAYOUT)


def browser(pages, labels, selected=-1, description="question"):
    """The browser: buttons for the epoch, a slider and a number box for the question, and the
    pages.

    pages: one list of pages per epoch, all of the same length, with question k at position k
    of every list; labels: one button label per epoch ("epoch 2"); selected: the epoch shown
    first. (The buttons may as well pick models: one list of pages per model.)
    Returns a VBox of the buttons, an HBox of the slider and its number box, and the pages.
    """
    if len(pages) != len(labels) or len({len(p) for p in pages}) != 1:
        raise ValueError("give one label per epoch, and the same number of pages at each epoch")
    selected = range(len(labels))[selected]
    epochs = widgets.Stack([widgets.Stack(p, selected_index=0) for p in pages],
                           selected_index=selected)
    buttons = widgets.ToggleButtons(options=labels, index=selected,
                                    style={"button_width": "auto"})
    slider, controls = question_controls(len(pages[0]) - 1, description)
    # the links run in the browser, in JavaScript: no kernel needed
    widgets.jslink((buttons, "index"), (epochs, "selected_index"))
    for questions in epochs.children:
        widgets.jslink((slider, "value"), (questions, "selected_index"))
    return widgets.VBox([buttons, controls, epochs])


def question_controls(last, description="question"):
    """The slider and the number box that pick a question, 0 to last, linked to each other in
    the browser: returns (slider, an HBox of both)."""
    # The slider takes what the row leaves beside the number box, so that both fit a phone's
    # screen. The number is a box of its own rather than the slider's readout: the readout takes
    # a typed number only on Enter, and a number typed and left with Tab or a click stayed in
    # it while the page shown was another. A text box commits on Enter and when it loses focus
    # (continuous_update=False: not at every keystroke), so the number shown is the page shown.
    slider = widgets.IntSlider(value=0, min=0, max=last, description=description,
                               readout=False,
                               layout=widgets.Layout(flex="1 1 auto", width="auto",
                                                     min_width="0"))
    number = widgets.BoundedIntText(value=0, min=0, max=last, continuous_update=False,
                                    layout=widgets.Layout(flex="0 0 auto", width="5.5em"))
    widgets.jslink((slider, "value"), (number, "value"))
    return slider, widgets.HBox([slider, number],
                                layout=widgets.Layout(width="100%", max_width="560px"))


def head_browser(pages, layer_labels, head_labels, description="question"):
    """A browser over layers and heads: a row of buttons for the layer, one for the head, the
    question slider, and the pages.

    pages[l][h][k]: the page of question k for layer l and head h (the same questions in every
    list). Stacks nest three deep (layer, head, question); the layer buttons drive the outer
    Stack, the head buttons every layer's Stack of heads, the slider every Stack of questions,
    all linked in the browser, so that head h of layer l shows question k whatever was clicked
    in which order.
    """
    if len(pages) != len(layer_labels) or any(len(p) != len(head_labels) for p in pages) or \
            len({len(q) for p in pages for q in p}) != 1:
        raise ValueError("give pages[layer][head] for every layer and head label, each a list "
                         "of the same questions")
    layers = widgets.Stack([widgets.Stack([widgets.Stack(q, selected_index=0) for q in p],
                                          selected_index=0) for p in pages], selected_index=0)
    layer_buttons = widgets.ToggleButtons(options=layer_labels, index=0,
                                          style={"button_width": "auto"})
    head_buttons = widgets.ToggleButtons(options=head_labels, index=0,
                                         style={"button_width": "auto"})
    slider, controls = question_controls(len(pages[0][0]) - 1, description)
    widgets.jslink((layer_buttons, "index"), (layers, "selected_index"))
    for heads in layers.children:
        widgets.jslink((head_buttons, "index"), (heads, "selected_index"))
        for questions in heads.children:
            widgets.jslink((slider, "value"), (questions, "selected_index"))
    return widgets.VBox([layer_buttons, head_buttons, controls, layers])
