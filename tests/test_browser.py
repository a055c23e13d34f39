"""The attention browsers of chapters 8 and 10 in a real browser, offline, with no kernel.

The built page is served from 127.0.0.1 and opened in headless Debian chromium through
Playwright's driver (never `playwright install`: `make chromium` installs Debian's browser).
Every request that leaves 127.0.0.1 is aborted and counted as a failure. The test checks that
each stored widget is drawn exactly once, then moves the question slider with the arrow keys and
by typing into its readout, and asserts that the visible map and text change every time and are
the ones stored for that question at the epoch shown. Then it clicks every epoch button and
asserts that the map and text change, that the question stays the same, and that the slider
still works at that epoch. It saves a screenshot as _build/browser-08.png. Chapter 10's browser,
whose buttons pick a model instead of an epoch, goes through the same tests
(_build/browser-10.png).

Every page of the book is also opened at a desktop width (1280 px) and a phone's (390 px): its
console must be clean, no block (code, output, equation, table, figure, widget) may be wider than
the text column at 1280 px, and no page may scroll sideways at 390 px.

The browser tests skip when _build/html is missing (run `make book`); under CI (CI=true) a
missing build, chromium or playwright is a failure, not a skip. The last tests check, with no
browser, how seqattn.browser builds the pages and links the controls, and how large its maps'
text is.
"""
import functools
import hashlib
import html
import io
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
# the pages with a browser: what their buttons pick, and the fewest questions each must hold
PAGE = "book/08_seeing_attention.html"  # chapter 8: a browser, and the answer box (test_browser_box)
BROWSERS = {PAGE: ("epoch", 30),
            "book/10_bidirectional_and_masks.html": ("model", 24)}
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"
# The one console message allowed: html-manager's JSON-schema validator (ajv) warns about its
# own schema ("strict mode: ...") on pages with widgets. Nothing else, on any page.
ALLOWED_CONSOLE = ("strict mode",)
DESKTOP, PHONE = 1280, 390


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
    _need(HTML.is_dir(), "_build/html does not exist: run `make book` (or `make test`) first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium(base_url):
    """Headless Debian chromium, driven by Playwright (one browser for the whole module)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "the Python package playwright is not installed (requirements.txt)")
    _need(Path(CHROMIUM).is_file() and shutil.which("chromium") is not None,
          f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


def _open(browser, url, width=DESKTOP, height=1000):
    """A new page at url, with the network closed; returns (page, report), where report collects
    requests that left the book, failed responses, page errors and console messages."""
    report = {"outside": [], "failed": [], "errors": [], "console": []}

    def route(route):
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            report["outside"].append(url)
            route.abort()

    page = browser.new_page(viewport={"width": width, "height": height})
    page.route("**/*", route)
    page.on("response", lambda r: r.status >= 400
            and report["failed"].append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: urlsplit(r.url).hostname == "127.0.0.1"
            and report["failed"].append(f"{r.failure} {r.url}"))
    page.on("pageerror", lambda e: report["errors"].append(str(e)))
    page.on("console", lambda m: m.type in ("error", "warning")
            and report["console"].append(f"{m.type}: {m.text}"))
    page.goto(url, wait_until="load")
    if page.locator('script[type="application/vnd.jupyter.widget-state+json"]').count():
        try:
            page.wait_for_selector(".widget-slider", timeout=30_000)
        except Exception:
            pass  # the tests say what is missing
    # MathJax typesets after the page's load event; the layout is final once it is done
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                  " ? MathJax.startup.promise.then(() => true) : true")
    page.wait_for_timeout(500)  # let every widget view and font finish drawing
    return page, report


@pytest.fixture(scope="module", params=list(BROWSERS), ids=lambda p: p.split("/")[-1][:2])
def browser_page(request, base_url, chromium):
    """A chapter's page with a browser, loaded in chromium with the network closed; yields
    (page, report, its name), where report collects requests that left the book, failed
    responses and page errors."""
    name = request.param
    assert (HTML / name).is_file(), f"{name} is not in _build/html"
    page, report = _open(chromium, base_url + name)
    try:
        yield page, report, name
    finally:
        page.close()


def _stored_state(page):
    """The widget state stored in the page, {model id: model}."""
    texts = page.eval_on_selector_all(
        'script[type="application/vnd.jupyter.widget-state+json"]', "els => els.map(e => e.text)")
    assert len(texts) == 1, (f"the page holds {len(texts)} widget states, expected 1: without "
                             "it the static book draws no widgets at all")
    return json.loads(texts[0])["state"]


def test_page_loads_nothing_from_outside_the_book(browser_page):
    page, report, _ = browser_page
    assert not report["outside"], "the page asked for files outside the book:\n" + "\n".join(
        report["outside"])
    assert not report["failed"], "requests failed:\n" + "\n".join(report["failed"])
    assert not report["errors"], "JavaScript errors on the page:\n" + "\n".join(report["errors"])


def test_every_widget_is_drawn_exactly_once(browser_page):
    page, *_ = browser_page
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
    buttons = sum(m["model_name"] == "ToggleButtonsModel" for m in state.values())
    assert page.locator(".widget-toggle-buttons").count() == buttons == 1


# --- every page of the book: a clean console, and blocks that fit the column ----------------------

def _book_pages():
    """The pages of the book, relative to _build/html (_static/ holds theme templates), less
    index.html, which only redirects to the intro (it navigates away while being measured)."""
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if "_static" not in p.relative_to(HTML).parts
                  and not re.search(r'http-equiv="refresh"', p.read_text(encoding="utf-8"),
                                    re.IGNORECASE))


# Run in the page: what is wider than the text column (the article's content box). A block is
# too wide when it scrolls sideways inside its own box (a code cell, an output, an equation) or
# sticks out of the column where nothing inside the article clips it. Only the outermost one
# is reported, with the longest line of its text.
MEASURE = r"""() => {
  const article = document.querySelector('main .bd-article') || document.querySelector('main')
                  || document.body;
  if (!article) return {wide: ['the page has no body'], page: [], column: 0};
  const style = getComputedStyle(article), box = article.getBoundingClientRect();
  const left = box.left + parseFloat(style.paddingLeft);
  const right = box.right - parseFloat(style.paddingRight);
  const shown = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const clips = e => getComputedStyle(e).overflowX !== 'visible';
  const cells = [...article.querySelectorAll('div.cell')];
  const describe = (e, how) => {
    const cell = e.closest('div.cell');
    const part = e.closest('.cell_output') ? 'output' : e.closest('.cell_input') ? 'source' : '';
    const pre = e.matches('pre') ? e : e.querySelector('pre');
    let text;
    if (pre) {
      text = pre.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
    } else if (e.closest('div.math')) {
      text = 'equation ' + (e.closest('div.math').querySelector('mjx-assistive-mml')
                            || e).textContent.trim();
    } else if (e.matches('img')) {
      text = 'image ' + e.getAttribute('src');
    } else {
      text = e.textContent.trim().replace(/\s+/g, ' ');
    }
    const where = cell ? `code cell ${cells.indexOf(cell)} on the page${part ? ', ' + part : ''}`
                       : e.tagName.toLowerCase() + '.' + [...e.classList].join('.');
    return `${where}: ${how} (${Math.round(e.scrollWidth)} px of content in `
           + `${Math.round(Math.min(e.clientWidth || 1e9, right - left))} px): `
           + JSON.stringify(text.slice(0, 160));
  };
  const found = [], reported = new Set();
  for (const e of article.querySelectorAll('*')) {
    if (!shown(e)) continue;
    // MathJax's own boxes clip glyphs by design: an equation is judged by its container
    const jax = e.closest('mjx-container');
    if (jax && jax !== e) continue;
    let a = e.parentElement, clipped = false, done = false;
    while (a && a !== article) {
      if (reported.has(a)) done = true;
      if (clips(a)) clipped = true;
      a = a.parentElement;
    }
    if (done) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    // inline math (span.math) clips its glyphs' overhang by a few pixels: judged by position
    if (clips(e) && !e.matches('span.math') && e.scrollWidth > e.clientWidth + 1) {
      found.push(describe(e, 'scrolls sideways')); reported.add(e);
    } else if (!clipped && (r.right > right + 1 || r.left < left - 1)) {
      found.push(describe(e, `sticks out of the column by ${Math.round(r.right - right)} px`));
      reported.add(e);
    } else if (!clipped && !clips(e) && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1
               && r.left + e.scrollWidth > right + 1) {
      found.push(describe(e, 'has text that runs out of the column'));  // a long word
      reported.add(e);
    }
  }
  // the page itself scrolls sideways (the theme's article container scrolls too)
  const scrollers = [document.documentElement, document.body,
                     ...document.querySelectorAll('.bd-page-width, .bd-container, .bd-main, '
                                                  + '.bd-content, .bd-article-container')];
  const page = scrollers.filter(e => e.scrollWidth > e.clientWidth + 1).map(
      e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}: ${e.scrollWidth} px `
           + `wide in ${e.clientWidth} px`);
  return {wide: found, page: page, column: Math.round(right - left)};
}"""


@pytest.fixture(scope="module")
def every_page(base_url, chromium):
    """Every page of the book opened at the desktop and the phone width:
    {(page, width): (report as _open's, what MEASURE found)}."""
    pages = _book_pages()
    assert "book/intro.html" in pages and len(pages) >= 10, f"the build has the pages {pages}"
    found = {}
    for name in pages:
        for width in (DESKTOP, PHONE):
            page, report = _open(chromium, base_url + name, width=width, height=900)
            try:
                found[name, width] = report, page.evaluate(MEASURE)
            finally:
                page.close()
    return found


def test_every_page_has_a_clean_console(every_page):
    problems = []
    for (name, width), (report, _) in every_page.items():
        console = [m for m in report["console"] if not any(a in m for a in ALLOWED_CONSOLE)]
        for kind, what in [("asked for a file outside the book", report["outside"]),
                           ("failed request", report["failed"]),
                           ("JavaScript error", report["errors"]), ("console", console)]:
            problems += [f"{name} at {width} px: {kind}: {m}" for m in what]
    assert not problems, "pages whose console is not clean:\n" + "\n".join(problems)


def test_no_block_is_wider_than_the_column_at_desktop_width(every_page):
    wide = [f"{name}: {w}" for (name, width), (_, found) in every_page.items()
            if width == DESKTOP for w in found["wide"] + found["page"]]
    assert not wide, (f"{len(wide)} blocks wider than the text column at {DESKTOP} px "
                      "(shorten the lines of these cells, or make the figure narrower):\n"
                      + "\n".join(wide))


def test_no_page_scrolls_sideways_on_a_phone(every_page):
    # code may scroll inside its own box on a phone; the page itself may not
    sideways = [f"{name}: {p}" for (name, width), (_, found) in every_page.items()
                if width == PHONE for p in found["page"]]
    outside = [f"{name}: {w}" for (name, width), (_, found) in every_page.items()
               if width == PHONE for w in found["wide"] if "sticks out" in w]
    assert not sideways and not outside, (
        f"at {PHONE} px these pages scroll sideways:\n" + "\n".join(sideways)
        + "\nbecause of:\n" + "\n".join(outside))


def _browser_box(page):
    """The VBox that holds the browser's controls and its pages."""
    return page.locator(".widget-slider").first.locator(
        "xpath=ancestor::div[contains(concat(' ', @class, ' '), ' widget-vbox ')][1]")


def _number_box(page):
    """Where the browser shows the question's number and the reader types one: the number box
    beside the slider (seqattn.browser), or else the slider's own readout."""
    box = _browser_box(page).locator(".widget-text input")
    if box.count():
        return box.first
    return page.locator(".widget-slider").first.locator(".widget-readout")


def _shown_number(page):
    number = _number_box(page)
    if number.evaluate("e => e.tagName") == "INPUT":
        return number.input_value().strip()
    return number.inner_text().strip()


def _visible(page):
    """What the reader sees in the browser: the number shown beside the slider, the text of the
    page shown below the controls, and a hash of the pixels of the visible map."""
    box = _browser_box(page)
    shown = box.locator("xpath=./*[not(descendant-or-self::*[contains(@class, 'widget-slider')])"
                        " and not(contains(@class, 'widget-toggle-buttons'))]")
    text = " ".join(shown.all_inner_texts()).split()
    images = [im for im in box.locator("img").all() if im.is_visible()]
    assert len(images) == 1, f"{len(images)} maps visible beside the slider, expected 1"
    pixels = hashlib.sha256(images[0].screenshot()).hexdigest()
    return _shown_number(page), " ".join(text), pixels


def _stored_browser(state):
    """The browser as stored: (the epoch buttons' labels, the index of the epoch shown first,
    the text of every page, one list per epoch in the buttons' order); None if the state holds
    no Stack of Stacks."""
    def model(ref):
        return state[ref.removeprefix("IPY_MODEL_")]

    def text(box):
        html_models = [model(c)["state"] for c in box["state"]["children"]
                       if model(c)["model_name"] == "HTMLModel"]
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_models[0]["value"])).split())

    stacks = [m["state"] for m in state.values() if m["model_name"] == "StackModel"]
    outer = [s for s in stacks
             if all(model(c)["model_name"] == "StackModel" for c in s["children"])]
    buttons = [m["state"] for m in state.values() if m["model_name"] == "ToggleButtonsModel"]
    if len(outer) != 1 or len(buttons) != 1:
        return None
    pages = [[text(model(p)) for p in model(epoch)["state"]["children"]]
             for epoch in outer[0]["children"]]
    return buttons[0]["_options_labels"], buttons[0]["index"], pages


# a page's text: "epoch 2 · test question 1: August 31, 1938 truth ... · model ... · ✓ right"
# (chapter 10: "masked · test question 1: ...")
PAGE_TEXT = re.compile(r"^(?P<label>.+?) · (?P<question>.+?) truth (?P<truth>.+?) · "
                       r"model (?P<answer>.+?) · (?:✓ right|✗ wrong)$")


def _parse_page(text):
    match = PAGE_TEXT.match(text)
    assert match, f"a page of the browser reads {text!r}, not 'label · ... truth ... model ...'"
    return match.groupdict()


def _controls(page):
    slider = page.locator(".widget-slider").first
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    number = _number_box(page)

    def press(key):
        handle.focus()
        page.keyboard.press(key)

    def type_value(value, leave="Enter"):
        number.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(value))
        page.keyboard.press(leave)

    return slider, press, type_value


def _browser_from(page):
    stored = _stored_browser(_stored_state(page))
    assert stored is not None, (
        "the stored state holds no browser: one ToggleButtons for the epoch and a Stack whose "
        "children are Stacks of pages, one per epoch")
    labels, first, pages = stored
    assert len(labels) == len(pages) >= 3, f"{len(labels)} epoch buttons, {len(pages)} epochs"
    assert len({len(p) for p in pages}) == 1, "the epochs hold different numbers of pages"
    for k in range(len(pages[0])):
        parsed = [_parse_page(p[k]) for p in pages]
        assert len({(p["question"], p["truth"]) for p in parsed}) == 1, (
            f"question {k} is not the same question at every epoch: {[p[k] for p in pages]}")
        shown = [p["label"] for p in parsed]
        assert all(b == lab or b.startswith(lab + " ") for lab, b in zip(shown, labels)), (
            f"the pages of question {k} are labelled {shown}, not as the buttons {labels}")
    return labels, first, pages


def test_slider_changes_the_visible_map_and_text(browser_page):
    page, _, name = browser_page
    state = _stored_state(page)
    sliders = [m["state"] for m in state.values() if m["model_name"] == "IntSliderModel"]
    assert sliders, "no slider in the stored widget state"
    last = sliders[0]["max"]
    fewest = BROWSERS[name][1]
    assert last + 1 >= fewest, f"the slider has {last + 1} positions, expected at least {fewest}"
    _, first, pages = _browser_from(page)
    pages = pages[first]  # the epoch the browser opens at
    assert len(pages) == last + 1, f"{len(pages)} pages for {last + 1} slider positions"

    slider, press, type_value = _controls(page)
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
        assert now[1] == pages[expected], (
            f"{what}: the page shows {now[1]!r}, but page {expected} stores {pages[expected]!r}")
        seen.append(now)
        if expected == 17:
            shot = ROOT / "_build" / f"browser-{name.split('/')[-1][:2]}.png"
            shot.parent.mkdir(exist_ok=True)
            _browser_box(page).screenshot(path=str(shot))
    assert len({s[2] for s in seen}) == len({s[0] for s in seen}), "two pages show the same map"


def test_a_number_typed_and_left_with_tab_or_a_click_is_the_page_shown(browser_page):
    # The slider's own readout took a typed number only on Enter: typed and left with Tab or a
    # click, it kept showing that number while the browser showed another page.
    page, *_ = browser_page
    _, first, pages = _browser_from(page)
    pages = pages[first]
    slider, press, type_value = _controls(page)
    type_value(0)
    page.wait_for_timeout(300)
    for value, leave in [(7, "Tab"), (12, "click"), (len(pages) - 2, "Tab")]:
        if leave == "click":
            type_value(value, leave="End")  # then click outside the box
            page.locator("article.bd-article h1").first.click()
        else:
            type_value(value, leave=leave)
        page.wait_for_timeout(300)
        number, text, _ = _visible(page)
        what = f"after typing {value} and leaving the box with {leave}"
        assert number == str(value), f"{what}: the box shows {number!r}"
        assert text == pages[value], (
            f"{what}: the box shows {number} but the browser shows {text!r}, not page "
            f"{value}, {pages[value]!r}")


@pytest.mark.parametrize("name", list(BROWSERS))
def test_the_browser_fits_a_phone_and_its_slider_reaches_the_last_question(base_url, chromium,
                                                                           name):
    # at 390 px the slider was 520 px wide: its number box was off the screen, and dragging its
    # handle to the screen's edge reached question 48 of 59
    page, _ = _open(chromium, base_url + name, width=PHONE, height=800)
    try:
        _, first, pages = _browser_from(page)
        slider = page.locator(".widget-slider").first
        slider.scroll_into_view_if_needed()
        number = _number_box(page)
        for what, element in [("the slider", slider), ("its number box", number)]:
            box = element.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE, (
                f"{what} is not within the {PHONE} px screen: {box}")
        handle = slider.locator(".noUi-handle").bounding_box()
        track = slider.locator(".noUi-target, .slider").first.bounding_box()
        page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        page.mouse.down()
        page.mouse.move(min(PHONE - 1, track["x"] + track["width"] + 50),
                        handle["y"] + handle["height"] / 2, steps=10)
        page.mouse.up()
        page.wait_for_timeout(300)
        last = len(pages[first]) - 1
        number, text, _ = _visible(page)
        assert number == str(last) and text == pages[first][last], (
            f"dragged to the right end, the slider shows {number} and {text!r}, expected the "
            f"last question, {last}")
    finally:
        page.close()


def test_epoch_buttons_change_the_map_and_keep_the_question(browser_page):
    page, *_ = browser_page
    labels, first, pages = _browser_from(page)
    # a question whose text differs at every epoch (the model's answer or its verdict)
    candidates = [k for k in range(len(pages[0])) if len({p[k] for p in pages}) == len(pages)]
    assert candidates, "no question's page differs between the epochs"
    question = candidates[len(candidates) // 2]

    slider, press, type_value = _controls(page)
    buttons = page.locator(".widget-toggle-buttons button")
    assert buttons.all_inner_texts() == labels
    type_value(question)
    page.wait_for_timeout(300)
    seen = [_visible(page)]
    assert seen[0][1] == pages[first][question], "the slider did not select the question"
    # every epoch, then back to the first one shown
    order = [e for e in range(len(labels)) if e != first] + [first]
    for epoch in order:
        buttons.nth(epoch).click()
        page.wait_for_timeout(300)
        now = _visible(page)
        what = f"after clicking epoch {labels[epoch]!r}"
        assert now[0] == str(question), (
            f"{what}: the slider moved to {now[0]}, expected it to stay at {question}")
        assert now[1] != seen[-1][1], f"{what}: the visible text did not change: {now[1]!r}"
        assert now[2] != seen[-1][2], f"{what}: the visible map did not change"
        assert now[1] == pages[epoch][question], (
            f"{what}: the page shows {now[1]!r}, but epoch {labels[epoch]!r} stores "
            f"{pages[epoch][question]!r} for question {question}")
        assert _parse_page(now[1])["question"] == _parse_page(seen[0][1])["question"]
        seen.append(now)
    assert len({s[2] for s in seen[1:]}) == len(labels), "two epochs show the same map"

    # the slider drives the pages of every epoch, not only of the one shown first
    for epoch in order[:-1]:
        buttons.nth(epoch).click()
        press("ArrowRight" if question + 1 < len(pages[epoch]) else "ArrowLeft")
        page.wait_for_timeout(300)
        moved = _visible(page)
        expected = question + 1 if question + 1 < len(pages[epoch]) else question - 1
        assert moved[1] == pages[epoch][expected], (
            f"at epoch {labels[epoch]!r} the slider at {moved[0]} shows {moved[1]!r}, but "
            f"question {expected} stores {pages[epoch][expected]!r}")
        type_value(question)
        page.wait_for_timeout(300)
    buttons.nth(first).click()
    page.wait_for_timeout(300)


# --- seqattn.browser, in Python ------------------------------------------------------------------

def _tiny_browser():
    from seqattn import browser

    png = browser.map_png(np.full((2, 3), 1 / 3), "abc", "xy")
    pages = [[browser.page(epoch, f"question {k}", "abc", "xy", "xy" if epoch > 1 else "yy", png)
              for k in range(4)] for epoch in (1, 2, 3)]
    return png, browser.browser(pages, ["epoch 1", "epoch 2", "epoch 3 (final)"])


def test_map_png_is_a_small_palette_png():
    from PIL import Image

    png, _ = _tiny_browser()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "P"
    assert len(png) < 20_000


def test_browser_links_the_buttons_to_the_epochs_and_the_slider_to_every_epoch():
    from ipywidgets.widgets.widget_link import Link
    from ipywidgets.widgets.widget import _instances

    _, box = _tiny_browser()
    buttons, controls, epochs = box.children
    slider, number = controls.children
    assert epochs.selected_index == buttons.index == 2, "the browser opens at the last epoch"
    assert slider.max == 3 and [len(e.children) for e in epochs.children] == [4, 4, 4]
    links = {(w.source[0].model_id, w.source[1], w.target[0].model_id, w.target[1])
             for w in list(_instances.values()) if isinstance(w, Link)}
    assert (buttons.model_id, "index", epochs.model_id, "selected_index") in links
    for questions in epochs.children:
        assert (slider.model_id, "value", questions.model_id, "selected_index") in links
    # the number is a box of its own, which commits when it loses focus, linked to the slider
    assert not slider.readout and (number.min, number.max) == (slider.min, slider.max)
    assert not number.continuous_update
    assert (slider.model_id, "value", number.model_id, "value") in links
    text = epochs.children[0].children[1].children[0].value
    assert "epoch 1" in text and "question 1" in text and "✗ wrong" in text


def test_browser_wants_as_many_pages_at_every_epoch():
    from seqattn import browser

    with pytest.raises(ValueError):
        browser.browser([[None], [None, None]], ["epoch 1", "epoch 2"])


def test_map_text_shows_at_9_px_or_more_on_a_desktop_and_on_a_phone():
    # the maps show at their own size on a desktop and shrunk to the column (358 px) on a phone
    from PIL import Image

    from seqattn import browser

    png = browser.map_png(np.full((10, 29), 1 / 29), "tuesday, september 25, 1984".ljust(29),
                          "1984-09-25")
    width = Image.open(io.BytesIO(png)).size[0]
    dpi = 80  # map_png's
    for page_width, column in [(DESKTOP, 960), (PHONE, 358)]:
        px = browser.FONT_PT * dpi / 72 * min(1, column / width)
        assert px >= 9, (f"at {page_width} px the map ({width} px wide) shows its text at "
                         f"{px:.1f} px")


def test_head_browser_links_layers_heads_and_questions():
    from ipywidgets.widgets.widget_link import Link
    from ipywidgets.widgets.widget import _instances

    from seqattn import browser

    png = browser.map_png(np.full((2, 3), 1 / 3), "abc", "xy")
    pages = [[[browser.page(None, f"question {k}", "abc", "xy", "xy", png,
                            label=f"layer {l + 1} head {h + 1}") for k in range(5)]
              for h in range(4)] for l in range(2)]
    box = browser.head_browser(pages, ["layer 1", "layer 2"], [f"head {h}" for h in range(1, 5)])
    layer_buttons, head_buttons, controls, layers = box.children
    slider, number = controls.children
    assert slider.max == 4 and len(layers.children) == 2
    assert all(len(heads.children) == 4 for heads in layers.children)
    links = {(w.source[0].model_id, w.source[1], w.target[0].model_id, w.target[1])
             for w in list(_instances.values()) if isinstance(w, Link)}
    assert (layer_buttons.model_id, "index", layers.model_id, "selected_index") in links
    assert (slider.model_id, "value", number.model_id, "value") in links
    for l, heads in enumerate(layers.children):
        assert (head_buttons.model_id, "index", heads.model_id, "selected_index") in links
        for h, questions in enumerate(heads.children):
            assert (slider.model_id, "value", questions.model_id, "selected_index") in links
            assert f"layer {l + 1} head {h + 1}" in questions.children[3].children[0].value
    with pytest.raises(ValueError, match="every layer and head"):
        browser.head_browser(pages, ["layer 1"], ["head 1", "head 2", "head 3", "head 4"])


def test_head_pngs_draws_each_item_and_refuses_weights_of_the_wrong_shape():
    from PIL import Image

    from seqattn import browser

    question, answer = "tuesday, september 25, 1984".ljust(29), "1984-09-25"
    flat = np.full((10, 29), 1 / 29)
    first = np.zeros((10, 29))
    first[:, 0] = 1
    causal = np.tril(np.ones((10, 10))) / np.arange(1, 11)[:, None]
    pngs = browser.head_pngs([(flat, causal, question, answer), (first, causal, question, answer)])
    assert len(pngs) == 2 and pngs[0] != pngs[1]  # each item's own weights
    image = Image.open(io.BytesIO(pngs[0]))
    assert image.mode == "P" and len(pngs[0]) < 20_000
    # the text shows at 9 px or more on a phone, shrunk to its column (358 px)
    assert browser.FONT_PT * 80 / 72 * min(1, 358 / image.size[0]) >= 9
    with pytest.raises(ValueError, match="shape"):  # the first item (the figure is drawn)
        browser.head_pngs([(flat[:, :28], causal, question, answer)])
    with pytest.raises(ValueError, match="weights of shape"):  # a later one
        browser.head_pngs([(flat, causal, question, answer), (flat, causal[:9], question, answer)])
