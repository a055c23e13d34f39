"""Chapter 14's head browser in a real browser, offline, with no kernel: buttons for the layer
and the head and one question slider, linked in the page itself.

The built page is opened in headless Debian chromium (the fixtures of test_browser.py). The test
reads the browser as stored in the page (pages[layer][head][question]), then moves the slider,
clicks head and layer buttons in turn and types a question's number, and asserts after each step
that the text and the map shown are the stored page of that layer, head and question, and that
the map changed. It saves a screenshot as _build/browser-14.png.
"""

import pytest

from test_browser import (HTML, _controls, _open, _stored_state, _visible,  # noqa: F401
                          _parse_page, base_url, chromium)

PAGE = "book/14_transformer_on_dates.html"
LAYERS, HEADS, QUESTIONS = 2, 4, 10


def _stored_head_browser(state):
    """(layer labels, head labels, pages[layer][head][question] as text) from the stored state."""
    import html
    import re

    def model(ref):
        return state[ref.removeprefix("IPY_MODEL_")]

    def text(box):
        value = [model(c)["state"]["value"] for c in box["state"]["children"]
                 if model(c)["model_name"] == "HTMLModel"][0]
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())

    def is_stack(ref):
        return model(ref)["model_name"] == "StackModel"

    stacks = [m["state"] for m in state.values() if m["model_name"] == "StackModel"]
    # the outer Stack: its children are Stacks whose children are Stacks
    outer = [s for s in stacks if all(is_stack(c) and all(is_stack(g) for g in
                                                          model(c)["state"]["children"])
                                      for c in s["children"])]
    buttons = [m["state"] for m in state.values() if m["model_name"] == "ToggleButtonsModel"]
    assert len(outer) == 1 and len(buttons) == 2, "expected one head browser: 2 rows of buttons"
    layer_labels, head_labels = (b["_options_labels"] for b in buttons)
    if layer_labels[0].startswith("head"):
        layer_labels, head_labels = head_labels, layer_labels
    pages = [[[text(model(p)) for p in model(head)["state"]["children"]]
              for head in model(layer)["state"]["children"]] for layer in outer[0]["children"]]
    return layer_labels, head_labels, pages


@pytest.fixture(scope="module")
def head_page(base_url, chromium):
    assert (HTML / PAGE).is_file(), f"{PAGE} is not in _build/html"
    page, report = _open(chromium, base_url + PAGE)
    try:
        yield page, report
    finally:
        page.close()


def test_the_head_browser_shows_the_page_of_the_layer_head_and_question_picked(head_page):
    page, report = head_page
    assert not report["outside"] and not report["failed"] and not report["errors"], report
    layer_labels, head_labels, pages = _stored_head_browser(_stored_state(page))
    assert layer_labels == [f"layer {l + 1}" for l in range(LAYERS)]
    assert head_labels == [f"head {h + 1}" for h in range(HEADS)]
    assert [[len(head) for head in layer] for layer in pages] == [[QUESTIONS] * HEADS] * LAYERS
    for l in range(LAYERS):
        for h in range(HEADS):
            for k in range(QUESTIONS):
                assert _parse_page(pages[l][h][k])["label"] == f"layer {l + 1}, head {h + 1}"

    _, press, type_value = _controls(page)
    box = page.locator(".widget-toggle-buttons")
    assert box.count() == 2

    def click(row, label):
        box.nth(row).get_by_role("button", name=label, exact=True).click()
        page.wait_for_timeout(300)

    seen = set()

    def expect(l, h, k):
        number, text, pixels = _visible(page)
        assert number == str(k), f"the number box shows {number}, expected {k}"
        assert text == pages[l][h][k], (f"layer {l + 1}, head {h + 1}, question {k} should show "
                                        f"{pages[l][h][k]!r}, not {text!r}")
        assert pixels not in seen, "the map did not change"
        seen.add(pixels)

    expect(0, 0, 0)
    press("ArrowRight")
    page.wait_for_timeout(300)
    expect(0, 0, 1)
    click(1, "head 3")
    expect(0, 2, 1)
    click(0, "layer 2")
    expect(1, 2, 1)  # the head and the question stay as they were
    type_value(7)
    page.wait_for_timeout(300)
    expect(1, 2, 7)
    click(1, "head 1")
    expect(1, 0, 7)
    click(0, "layer 1")
    expect(0, 0, 7)
    page.screenshot(path=str(HTML.parent / "browser-14.png"), full_page=False)
