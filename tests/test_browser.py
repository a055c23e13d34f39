"""The attention browser of chapter 8 in a real browser, offline, with no kernel.

The built page is served from 127.0.0.1 and opened in headless Debian chromium through
Playwright's driver (never `playwright install`: `make chromium` installs Debian's browser).
Every request that leaves 127.0.0.1 is aborted and counted as a failure. The test checks that
each stored widget is drawn exactly once, then moves the slider with the arrow keys and by
typing into its readout, and asserts that the visible map and text change every time and are
the ones stored for that page. It saves a screenshot as _build/browser-08.png.

It skips when _build/html is missing (run `make book`); under CI (CI=true) a missing chromium or
playwright is a failure, not a skip.
"""
import functools
import hashlib
import html
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
PAGE = "book/08_seeing_attention.html"
SCREENSHOT = ROOT / "_build" / "browser-08.png"
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"
# Seen on every Jupyter Book 1 page, harmless: sphinx-thebe puts its inline script in twice.
HARMLESS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

pytestmark = pytest.mark.skipif(
    not HTML.is_dir(), reason="_build/html does not exist: run `make book` (or `make test`) first"
)


def _need(ok, reason):
    if not ok:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the browser test must run; `make test` installs both)")
        pytest.skip(reason)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    """_build/html served on 127.0.0.1 at a free port, from a thread."""
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser_page(base_url):
    """The chapter's page, loaded in chromium with the network closed; yields (page, report),
    where report collects requests that left the book, failed responses and page errors."""
    assert (HTML / PAGE).is_file(), f"{PAGE} is not in _build/html"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "the Python package playwright is not installed (requirements.txt)")
    _need(Path(CHROMIUM).is_file() and shutil.which("chromium") is not None,
          f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")

    report = {"outside": [], "failed": [], "errors": []}

    def route(route):
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            report["outside"].append(url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", route)
            page.on("response", lambda r: r.status >= 400
                    and report["failed"].append(f"{r.status} {r.url}"))
            page.on("requestfailed", lambda r: urlsplit(r.url).hostname == "127.0.0.1"
                    and report["failed"].append(f"{r.failure} {r.url}"))
            page.on("pageerror", lambda e: report["errors"].append(str(e)))
            page.goto(base_url + PAGE, wait_until="load")
            try:
                page.wait_for_selector(".widget-slider", timeout=30_000)
            except Exception:
                pass  # the tests below say what is missing
            page.wait_for_timeout(500)  # let every view finish drawing
            yield page, report
        finally:
            browser.close()


def _stored_state(page):
    """The widget state stored in the page, {model id: model}."""
    texts = page.eval_on_selector_all(
        'script[type="application/vnd.jupyter.widget-state+json"]', "els => els.map(e => e.text)")
    assert len(texts) == 1, (f"the page holds {len(texts)} widget states, expected 1: without "
                             "it the static book draws no widgets at all")
    return json.loads(texts[0])["state"]


def test_page_loads_nothing_from_outside_the_book(browser_page):
    page, report = browser_page
    assert not report["outside"], "the page asked for files outside the book:\n" + "\n".join(
        report["outside"])
    assert not report["failed"], "requests failed:\n" + "\n".join(report["failed"])
    errors = [e for e in report["errors"] if not any(h in e for h in HARMLESS_ERRORS)]
    assert not errors, "JavaScript errors on the page:\n" + "\n".join(errors)


def test_every_widget_is_drawn_exactly_once(browser_page):
    page, _ = browser_page
    state = _stored_state(page)
    views = page.eval_on_selector_all(
        'script[type="application/vnd.jupyter.widget-view+json"]',
        "els => els.map(e => JSON.parse(e.text).model_id)")
    assert views, "the page has no widget views"
    missing = [v for v in views if v not in state]
    assert not missing, f"views of models missing from the stored state: {missing}"
    # html-manager draws each view into a div.widget-subarea placed just before its script tag
    drawn = page.eval_on_selector_all(
        'script[type="application/vnd.jupyter.widget-view+json"]', """els => els.map(e => {
            let n = 0, el = e.previousElementSibling;
            while (el && el.classList.contains('widget-subarea')) {
                n += el.children.length; el = el.previousElementSibling; }
            return n; })""")
    assert drawn == [1] * len(views), (
        f"views drawn per widget output: {drawn} (expected 1 each: 0 = not drawn, "
        "2 = the widget scripts ran twice)")
    sliders = sum(m["model_name"] == "IntSliderModel" for m in state.values())
    assert page.locator(".widget-slider").count() == sliders == 1


def _visible(page):
    """What the reader sees beside the browser's slider: its readout, the text of the page
    the stack shows, and a hash of the pixels of the visible map."""
    slider = page.locator(".widget-slider").first
    box = slider.locator("xpath=..")  # the VBox holding the slider and the stack
    shown = box.locator("xpath=./*[not(contains(@class, 'widget-slider'))]")
    text = " ".join(shown.all_inner_texts()).split()
    images = [im for im in box.locator("img").all() if im.is_visible()]
    assert len(images) == 1, f"{len(images)} maps visible beside the slider, expected 1"
    pixels = hashlib.sha256(images[0].screenshot()).hexdigest()
    readout = slider.locator(".widget-readout").inner_text().strip()
    return readout, " ".join(text), pixels


def _stored_page_texts(state):
    """The text of every page of the browser's Stack, from the stored state, in order
    (None if the state holds no Stack)."""
    def model(ref):
        return state[ref.removeprefix("IPY_MODEL_")]

    stacks = [m["state"] for m in state.values() if m["model_name"] == "StackModel"]
    if len(stacks) != 1:
        return None
    texts = []
    for ref in stacks[0]["children"]:
        html_models = [model(c)["state"] for c in model(ref)["state"]["children"]
                       if model(c)["model_name"] == "HTMLModel"]
        text = html.unescape(re.sub(r"<[^>]+>", " ", html_models[0]["value"]))
        texts.append(" ".join(text.split()))
    return texts


def test_slider_changes_the_visible_map_and_text(browser_page):
    page, _ = browser_page
    state = _stored_state(page)
    sliders = [m["state"] for m in state.values() if m["model_name"] == "IntSliderModel"]
    assert sliders, "no slider in the stored widget state"
    last = sliders[0]["max"]
    assert last >= 49, f"the slider has {last + 1} positions, expected at least 50"
    pages = _stored_page_texts(state)

    slider = page.locator(".widget-slider").first
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    readout = slider.locator(".widget-readout")

    def press(key):
        handle.focus()
        page.keyboard.press(key)

    def type_value(value):
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(value))
        page.keyboard.press("Enter")

    seen = [_visible(page)]
    assert seen[0][0] == "0", f"the slider starts at {seen[0][0]}, expected 0"
    moves = [("ArrowRight", 1), ("ArrowRight", 2), (17, 17), (last, last),
             ("ArrowLeft", last - 1), (5, 5)]
    for move, expected in moves:
        if isinstance(move, str):
            press(move)
        else:
            type_value(move)
        page.wait_for_timeout(300)
        now = _visible(page)
        what = f"after {move!r}"
        assert now[0] == str(expected), f"{what}: the readout shows {now[0]}, expected {expected}"
        assert now[1] != seen[-1][1], f"{what}: the visible text did not change: {now[1]!r}"
        assert now[2] != seen[-1][2], f"{what}: the visible map did not change"
        assert pages is not None, (
            "the visible page changed, but the stored state holds no Stack of pages")
        assert now[1] == pages[expected], (
            f"{what}: the page shows {now[1]!r}, but page {expected} stores {pages[expected]!r}")
        seen.append(now)
        if expected == 17:
            SCREENSHOT.parent.mkdir(exist_ok=True)
            slider.locator("xpath=..").screenshot(path=str(SCREENSHOT))
    assert len({s[2] for s in seen}) == len({s[0] for s in seen}), "two pages show the same map"
