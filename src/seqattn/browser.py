"""The attention browser of chapter 8: maps drawn in advance, one page per question and epoch,
and two controls that switch between them in the browser, so that it works in the static book.

A slider picks the question and a row of buttons the epoch. Both are tied to the pages with
``widgets.jslink``, which runs in JavaScript: no Python runs when the reader moves them, so no
kernel is needed. The pages sit in Stacks within a Stack (a ``Stack`` shows one of its
children): the outer one has one child per epoch, each of those has one page per question, and
the slider drives all of them, so that question k is the same question at every epoch.
"""
import html
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
from ipywidgets.widgets.widget_string import HTMLStyle
from PIL import Image

from .plot import figure_png, show_heatmap


def map_png(attention, question, answer, dpi=80, colors=32):
    """One attention map as PNG bytes, small enough to store by the hundred: drawn with
    show_heatmap (question padded to its full width, as the columns are), then reduced to a
    palette of a few colours. A grey map needs no more, and the file shrinks to about a third."""
    fig, ax = plt.subplots(figsize=(7.6, 2.5))
    show_heatmap(attention, question, answer, ax=ax)
    # larger labels than show_heatmap's: still legible when a phone's screen shrinks the image
    ax.tick_params(labelsize=11)
    ax.xaxis.label.set_fontsize(11)
    ax.yaxis.label.set_fontsize(11)
    image = Image.open(io.BytesIO(figure_png(fig, dpi=dpi)))  # the figure is closed
    out = io.BytesIO()
    image.convert("RGB").quantize(colors).save(out, format="png", optimize=True)
    return out.getvalue()


# All pages share these: each Layout and Style is a widget model that the page must store and
# load, so sharing them keeps it light. The image shrinks to fit a phone, and keeps its own size
# otherwise (flex-start: it does not stretch to the width of its text).
_IMAGE_LAYOUT = widgets.Layout(max_width="100%", height="auto")
_PAGE_LAYOUT = widgets.Layout(align_items="flex-start")
_TEXT_LAYOUT = widgets.Layout()
_TEXT_STYLE = HTMLStyle()


def page(epoch, title, question, truth, answer, png):
    """One page: a line of text (the epoch, what the question is, the truth, the model's
    answer and whether it is right) above the map png."""
    if answer == truth:
        verdict = "<b style='color:green'>✓ right</b>"
    else:
        verdict = "<b style='color:#c00'>✗ wrong</b>"
    code = "<code>{}</code>".format
    line = (f"<b>epoch {html.escape(str(epoch))}</b> · {html.escape(title)}: "
            f"{code(html.escape(question))}<br>truth {code(html.escape(truth))} · "
            f"model {code(html.escape(answer))} · {verdict}")
    text = widgets.HTML(line, layout=_TEXT_LAYOUT, style=_TEXT_STYLE)
    image = widgets.Image(value=png, format="png", layout=_IMAGE_LAYOUT)
    return widgets.VBox([text, image], layout=_PAGE_LAYOUT)


def browser(pages, labels, selected=-1, description="question"):
    """The browser: buttons for the epoch, a slider for the question, and the pages.

    pages: one list of pages per epoch, all of the same length, with question k at position k
    of every list; labels: one button label per epoch ("epoch 2"); selected: the epoch shown
    first.
    Returns a VBox of the buttons, the slider and the pages.
    """
    if len(pages) != len(labels) or len({len(p) for p in pages}) != 1:
        raise ValueError("give one label per epoch, and the same number of pages at each epoch")
    selected = range(len(labels))[selected]
    epochs = widgets.Stack([widgets.Stack(p, selected_index=0) for p in pages],
                           selected_index=selected)
    buttons = widgets.ToggleButtons(options=labels, index=selected,
                                    style={"button_width": "auto"})
    slider = widgets.IntSlider(value=0, min=0, max=len(pages[0]) - 1,
                               description=description,
                               layout=widgets.Layout(width="100%", max_width="520px"))
    # the links run in the browser, in JavaScript: no kernel needed
    widgets.jslink((buttons, "index"), (epochs, "selected_index"))
    for questions in epochs.children:
        widgets.jslink((slider, "value"), (questions, "selected_index"))
    return widgets.VBox([buttons, slider, epochs])
