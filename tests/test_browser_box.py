"""Chapter 8's box in a real browser: the reader types a date and the page answers, offline.

The built chapter is opened in headless Debian chromium (the fixtures of test_browser.py) twice:
from file://, as a reader who opened the downloaded book, and from a static server on
127.0.0.1. Every request that leaves the book (any other host; from file://, anything but a file
under _build/html) is aborted and fails the test. In the box the test types, each with Enter:

- a test question of the data set (test question 1 of the split the chapters use);
- a question from outside the data set ("December 31, 2100", which the model gets wrong);
- two questions the model cannot read (a '.', and a quote, which Python's repr shows with ").

It checks what the box draws against seqattn.translate on the NumPy model of the same
checkpoint: the answer; every cell of the map, its weight (1e-4) and its grey (matplotlib's
"Greys", which show_heatmap uses); the cells' places and the labels along the rows (the answer)
and the columns (the question, padding as ·); each character's probability; and Python's error
message (the same checks on the answer the box draws for its first question, as the page
loads). Then it clicks "epoch 2", asks again and checks the epoch-2 model's answers, and goes
back to epoch 10. It fails when the box is not wired (at the load event the note for Jupyter
still shows), when it does not draw its first answer in time (or says data-ready without one),
when the engine's answer, map or probabilities differ from NumPy's, or when the console is not
clean.

The budget test opens the page from the server and adds up the files it loads: under 12 MB
with the page, and reported with the epoch-1 and epoch-2 models loaded too. It also checks
when the box became ready, against the page's load event, and how long the engine takes (its
docstring says what is asserted and why). Run with -s to see the figures. The typing test saves
a screenshot of the box answering the test question from file:// as _build/browser-08-box.png.
"""
import math
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

from test_browser import ALLOWED_CONSOLE, HTML, PAGE, base_url, chromium  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SCREENSHOT = ROOT / "_build" / "browser-08-box.png"  # the box answering the test question
TEST_QUESTION = 1  # the index in the test split of the question typed first
OUTSIDE = "December 31, 2100"  # a year after 2099: the model answers 2000-12-31
UNREADABLE = ["8.8.2001", "Aug 8, '01"]
EPOCHS = {"attention_seq2seq": "epoch 10", "attention_seq2seq_epoch2": "epoch 2",
          "attention_seq2seq_epoch1": "epoch 1"}
READY_TIMEOUT = 30_000  # ms: the box must answer the page's first question by then
WEIGHT_TOLERANCE = 1e-4
GREY_TOLERANCE = 3  # units of 255, per channel
BUDGET = 12_000_000  # bytes: the page with everything it loads
READY_AFTER_LOAD = 2_000  # ms: the box is ready at most this long after the page's load event


# --- NumPy's answers ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def numpy_side():
    """(the test question, {model name: (model, vocab)}), from the checkpoints the book ships."""
    from seqattn.checkpoint import load_model
    from seqattn.data import default_data_path, load_dates

    (_, _), (x_test, _), vocab = load_dates(default_data_path(), reverse=True)
    models = {name: load_model(DATA / f"{name}.npz")
              for name in ("attention_seq2seq", "attention_seq2seq_epoch2")}
    for name, (_, v) in models.items():
        assert v == vocab, f"{name}.npz holds another vocabulary than data/date.txt's"
    return vocab.decode_question(x_test[TEST_QUESTION]), models


def _numpy(models, name, question):
    """What the Python box shows: ('answer', answer, attention (A, T), probabilities (A,)) or
    ('error', its message)."""
    from seqattn.translate import translate

    model, vocab = models[name]
    try:
        result = translate(model, vocab, question)
    except ValueError as e:
        return "error", f"The model cannot read {question!r}: {e}"
    return "answer", result.answer, result.attention, result.probabilities


def _greys(weight):
    """show_heatmap's colour for a weight: matplotlib's "Greys", as 0-255 RGB."""
    import matplotlib
    return [round(255 * c) for c in matplotlib.colormaps["Greys"](weight)[:3]]


# --- the page -------------------------------------------------------------------------------------

def _open_box(browser, url, width=1280):
    """The chapter at url, with every request outside the book aborted; waits until the box is
    ready and returns (page, report) as test_browser._open's."""
    report = {"outside": [], "failed": [], "errors": [], "console": [], "requests": [],
              "routed": []}
    local = urlsplit(url).scheme == "file"

    def inside(request_url):
        parts = urlsplit(request_url)
        if local:
            path = Path(unquote(parts.path)).resolve()
            return parts.scheme == "file" and path.is_relative_to(HTML.resolve())
        return parts.scheme == "http" and parts.hostname == "127.0.0.1"

    def route(route):
        report["routed"].append(route.request.url)
        if inside(route.request.url):
            route.continue_()
        else:
            report["outside"].append(route.request.url)
            route.abort()

    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.route("**/*", route)  # file:// requests too (the typing test checks that)
    page.on("request", lambda r: report["requests"].append(r.url))
    page.on("response", lambda r: r.status >= 400
            and report["failed"].append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: inside(r.url)
            and report["failed"].append(f"{r.failure} {r.url}"))
    page.on("pageerror", lambda e: report["errors"].append(str(e)))
    page.on("console", lambda m: m.type in ("error", "warning")
            and report["console"].append(f"{m.type}: {m.text}"))
    page.goto(url, wait_until="load")
    _wait_ready(page, report)
    return page, report


def _wait_ready(page, report):
    """Fails, saying why, unless the box is wired and answers its first question in time."""
    box = page.locator(".seqattn-ask")
    assert box.count() == 1, f"the page holds {box.count()} boxes (div.seqattn-ask), expected 1"
    state = """() => {
        const box = document.querySelector('.seqattn-ask');
        const out = box.querySelector('.seqattn-ask-output');
        return {wired: box.dataset.wired || null, ready: box.dataset.ready || null,
                engine: typeof seqattn, models: Object.keys(window.SEQATTN_MODELS || {}),
                answered: !!(out && out.children.length), text: box.innerText.slice(0, 300)};
      }"""
    why = (f"(engine 'undefined': attention_seq2seq.js did not run; models []: the model file "
           f"did not load; wired null: ask_box.js did not run); page errors {report['errors']}, "
           f"failed requests {report['failed']}")
    # the three scripts are synchronous: by the load event, the box is built
    now = page.evaluate(state)
    assert now["wired"] == "true" and page.locator(".seqattn-ask-off").count() == 0, (
        f"the box is not wired at the page's load event, the note for Jupyter shows: {now} {why}")
    assert box.locator("input[type=text]").count() == 1, "the box has no text box to type in"
    try:
        page.wait_for_selector('.seqattn-ask[data-ready="true"]', state="attached",
                               timeout=READY_TIMEOUT)
    except Exception:
        pytest.fail(f"the box was not ready {READY_TIMEOUT / 1000:.0f} s after the page loaded: "
                    f"{page.evaluate(state)} {why}")
    now = page.evaluate(state)
    assert now["answered"] and box.get_attribute("data-answer") is not None, (
        f"the box says it is ready (data-ready) but drew no answer: {now} {why}")


def _drawn(page):
    """What the box shows, read from the page."""
    return page.evaluate("""() => {
      const box = document.querySelector('.seqattn-ask');
      const text = (s) => { const e = box.querySelector(s); return e ? e.textContent : null; };
      const svg = box.querySelector('svg.seqattn-ask-map');
      const num = (e, a) => parseFloat(e.getAttribute(a));
      const labels = (c) => svg ? [...svg.querySelectorAll('text.' + c)].map(
          e => ({text: e.textContent, x: num(e, 'x'), y: num(e, 'y')})) : [];
      return {
        model: box.dataset.model, question: box.dataset.question, answer: box.dataset.answer,
        pressed: [...box.querySelectorAll('button[data-model]')].filter(
            b => b.getAttribute('aria-pressed') === 'true').map(b => b.dataset.model),
        answerText: text('.seqattn-ask-answer'), code: text('.seqattn-ask-answer code'),
        probabilities: text('.seqattn-ask-probabilities'), error: text('.seqattn-ask-error'),
        // each written character beside its probability: span.pair > code, span
        pairs: [...box.querySelectorAll('.seqattn-ask-probabilities .pair')].map(
            e => [e.querySelector('code').textContent, e.lastElementChild.textContent]),
        status: text('.seqattn-ask-status'), title: svg ? text('svg text.title') : null,
        cells: svg ? [...svg.querySelectorAll('rect[data-weight]')].map(e => ({
            row: +e.dataset.row, column: +e.dataset.column, weight: +e.dataset.weight,
            fill: getComputedStyle(e).fill, x: num(e, 'x'), y: num(e, 'y'),
            width: num(e, 'width'), height: num(e, 'height')})) : [],
        rows: labels('row'), columns: labels('column'),
      };
    }""")


def _ask(page, question):
    """Types question into the box, presses Enter and waits for the new answer."""
    _mark_output(page)
    field = page.locator(".seqattn-ask input[type=text]")
    field.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    return _wait_answer(page, question, f"typing {question!r} and Enter")


def _click_epoch(page, name):
    _mark_output(page)
    page.locator(f'.seqattn-ask button[data-model="{name}"]').click()
    question = page.locator(".seqattn-ask input[type=text]").input_value()
    return _wait_answer(page, question, f"clicking {EPOCHS[name]!r}", name)


def _mark_output(page):
    page.evaluate("""() => document.querySelectorAll('.seqattn-ask-output > *').forEach(
                           e => e.setAttribute('data-answered-before', ''))""")


def _wait_answer(page, question, what, model=None):
    try:
        page.wait_for_function("""([question, model]) => {
            const box = document.querySelector('.seqattn-ask');
            const out = box.querySelector('.seqattn-ask-output');
            return out.children.length && !out.querySelector('[data-answered-before]')
                   && box.dataset.question === question && (!model || box.dataset.model === model);
          }""", arg=[question, model], timeout=READY_TIMEOUT)
    except Exception:
        pytest.fail(f"after {what} the box drew no new answer: {_drawn(page)}")
    return _drawn(page)


def _check(drawn, expected, question, name, where):
    """Asserts that the box shows what the Python box shows for question with model name."""
    what = f"{where}, {EPOCHS[name]}, {question!r}"
    assert drawn["model"] == name and drawn["pressed"] == [name], (
        f"{what}: the box answered with {drawn['model']}, pressed {drawn['pressed']}")
    assert drawn["status"] == "", f"{what}: the status line says {drawn['status']!r}"
    if expected[0] == "error":
        assert drawn["error"] == expected[1], (
            f"{what}: the box says {drawn['error']!r}, Python says {expected[1]!r}")
        assert not drawn["cells"] and drawn["answerText"] is None and drawn["answer"] == ""
        return
    _, answer, attention, probabilities = expected
    assert drawn["error"] is None, f"{what}: the box says {drawn['error']!r}"
    assert drawn["answer"] == drawn["code"] == answer, (
        f"{what}: the box answers {drawn['code']!r}, NumPy {answer!r}")
    assert re.search(rf"\b{EPOCHS[name]}(?!\d)", drawn["answerText"]), (
        f"{what}: the answer does not say which model answered: {drawn['answerText']!r}")
    assert drawn["title"] == f"{question} -> {answer}"

    # the map: one cell per (answer, question) character, each weight and grey NumPy's
    A, T = attention.shape
    cells = drawn["cells"]
    assert sorted((c["row"], c["column"]) for c in cells) == [
        (k, j) for k in range(A) for j in range(T)], f"{what}: the map's cells are not {A} x {T}"
    wrong, greys = [], []
    for c in cells:
        w = attention[c["row"], c["column"]]
        if not abs(c["weight"] - w) <= WEIGHT_TOLERANCE:
            wrong.append(f"({c['row']}, {c['column']}): {c['weight']:.6f}, NumPy {w:.6f}")
        rgb = [int(v) for v in re.findall(r"\d+", c["fill"])[:3]]
        expected_rgb = _greys(w)
        if len(rgb) != 3 or max(abs(a - b) for a, b in zip(rgb, expected_rgb)) > GREY_TOLERANCE:
            greys.append(f"({c['row']}, {c['column']}) weight {w:.3f}: {c['fill']}, "
                         f"matplotlib rgb{tuple(expected_rgb)}")
    assert not wrong, f"{what}: {len(wrong)} of {len(cells)} weights differ:\n" + "\n".join(
        wrong[:10])
    assert not greys, f"{what}: {len(greys)} of {len(cells)} cells have the wrong grey:\n" + (
        "\n".join(greys[:10]))

    # the cells in their places: column j to the right of column j - 1, row k below row k - 1
    x0, y0 = min(c["x"] for c in cells), min(c["y"] for c in cells)
    size = cells[0]["width"]
    misplaced = [c for c in cells if c["width"] != size or c["height"] != size
                 or not math.isclose(c["x"], x0 + c["column"] * size)
                 or not math.isclose(c["y"], y0 + c["row"] * size)]
    assert not misplaced, f"{what}: cells out of their row or column: {misplaced[:5]}"

    # the labels: the answer down the rows, the question (padding as ·) along the columns
    assert [r["text"] for r in drawn["rows"]] == list(answer), (
        f"{what}: the rows are labelled {[r['text'] for r in drawn['rows']]}")
    shown = list(question.ljust(T).replace(" ", "·"))
    assert [c["text"] for c in drawn["columns"]] == shown, (
        f"{what}: the columns are labelled {''.join(c['text'] for c in drawn['columns'])!r}, "
        f"expected {''.join(shown)!r}")
    for k, r in enumerate(drawn["rows"]):
        assert math.isclose(r["y"], y0 + (k + 0.5) * size) and r["x"] < x0, (
            f"{what}: the label of row {k} is not beside it: {r}")
    for j, c in enumerate(drawn["columns"]):
        assert math.isclose(c["x"], x0 + (j + 0.5) * size) and c["y"] > y0 + A * size, (
            f"{what}: the label of column {j} is not below it: {c}")

    # how sure: each character with its probability, to 2 decimals
    line = drawn["probabilities"] or ""
    assert line.startswith("how sure, character by character:"), (
        f"{what}: the probabilities read {line!r}")
    pairs = drawn["pairs"]
    assert [c for c, _ in pairs] == list(answer), f"{what}: the probabilities read {pairs}"
    # to 2 decimals: NumPy's float32 and the engine's float64 may round a 0.505 apart
    assert all(re.fullmatch(r"\d\.\d\d", p) for _, p in pairs) and np.allclose(
        [float(p) for _, p in pairs], probabilities, rtol=0, atol=0.005 + 1e-4), (
        f"{what}: the box shows {pairs}, NumPy's probabilities are "
        f"{' '.join(f'{p:.4f}' for p in probabilities)}")


def _clean(report, where):
    console = [m for m in report["console"] if not any(a in m for a in ALLOWED_CONSOLE)]
    problems = ([f"asked for a file outside the book: {u}" for u in report["outside"]]
                + [f"failed request: {m}" for m in report["failed"]]
                + [f"JavaScript error: {m}" for m in report["errors"]]
                + [f"console: {m}" for m in console])
    assert not problems, f"{where}: the console is not clean:\n" + "\n".join(problems)


# --- the tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["file", "server"])
def test_typed_dates_get_numpy_answers_maps_and_errors(where, base_url, chromium, numpy_side):
    url = (base_url + PAGE if where == "server" else (HTML / PAGE).resolve().as_uri())
    test_question, models = numpy_side
    page, report = _open_box(chromium, url)
    try:
        # every request went through the route that aborts what leaves the book (Playwright
        # routes file:// requests too: if a version stopped, this test would say so)
        unrouted = sorted(set(report["requests"]) - set(report["routed"]))
        assert len(report["routed"]) > 10 and not unrouted, (
            f"{where}: {len(report['routed'])} requests routed; not routed: {unrouted}")
        box = page.locator(".seqattn-ask")
        first = box.get_attribute("data-question")
        _check(_drawn(page), _numpy(models, "attention_seq2seq", first), first,
               "attention_seq2seq", f"{where}, the page's first question")

        asked = [test_question, OUTSIDE] + UNREADABLE
        for question in asked:
            _check(_ask(page, question), _numpy(models, "attention_seq2seq", question),
                   question, "attention_seq2seq", where)
            if where == "file" and question == test_question:  # what a reader sees
                SCREENSHOT.parent.mkdir(exist_ok=True)
                box.screenshot(path=str(SCREENSHOT))

        # epoch 2: the question in the box is answered again, by the epoch-2 model
        _check(_click_epoch(page, "attention_seq2seq_epoch2"),
               _numpy(models, "attention_seq2seq_epoch2", asked[-1]), asked[-1],
               "attention_seq2seq_epoch2", where)
        for question in (test_question, OUTSIDE):
            _check(_ask(page, question), _numpy(models, "attention_seq2seq_epoch2", question),
                   question, "attention_seq2seq_epoch2", where)
        # and back to epoch 10
        _check(_click_epoch(page, "attention_seq2seq"),
               _numpy(models, "attention_seq2seq", OUTSIDE), OUTSIDE, "attention_seq2seq", where)
        _clean(report, where)
    finally:
        page.close()


def _file_of(url):
    """The file under _build/html that a request from the static server asked for."""
    path = (HTML / unquote(urlsplit(url).path).lstrip("/")).resolve()
    assert path.is_relative_to(HTML.resolve()) and path.is_file(), f"{url} is no file of the book"
    return path


def _timings(page):
    return page.evaluate("""() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const mark = (n) => { const m = performance.getEntriesByName(n, 'mark')[0];
                            return m ? Math.round(m.startTime) : null; };
      return {ready: +document.querySelector('.seqattn-ask').dataset.readyMs,
              dom_content_loaded: Math.round(nav.domContentLoadedEventEnd),
              load_event_end: Math.round(nav.loadEventEnd),
              model_loaded: mark('seqattn: attention_seq2seq loaded'),
              model_decoded: mark('seqattn: attention_seq2seq decoded')};
    }""")


def test_the_page_stays_under_12_mb_and_the_box_is_ready_within_2_s_of_the_load_event(
        base_url, chromium):
    """The budget of the issue: "the chapter 8 page with everything it loads stays under 12 MB.
    The model becomes interactive within 2 s of page load on a 2-core machine."

    Bytes: the sizes of the files the page asked for (each once), until it is quiet: the page,
    the theme, MathJax and its fonts, the widgets' scripts, the engine and the epoch-10 model.
    The epoch-1 and epoch-2 models load only when the reader clicks their buttons: the total
    with them is reported, and asserted only for the page as it loads.

    Time: the box sets data-ready-ms (from the start of the navigation) when its first answer
    is drawn. It is asserted to come at most 2 s after the page's load event (loadEventEnd):
    the box is usable within 2 s of the page having loaded. And the engine's own work, timed
    again once the page is quiet (decoding the model's file, one answer), must take under 2 s.
    On our 2-core machine the box is ready 2.9-3.3 s after the navigation starts when the
    machine is otherwise idle (3.4-5.8 s when it is busy), 20-70 ms before the load event; the
    decoding and an answer take 110-160 ms and 30-60 ms. The rest is the page itself: with the
    box's scripts blocked, its load event comes at 2.9-3.2 s. So 2 s from the navigation's
    start is not asserted. The figures are printed (pytest -s)."""
    page, report = _open_box(chromium, base_url + PAGE)
    try:
        page.wait_for_load_state("networkidle")
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                      " ? MathJax.startup.promise.then(() => true) : true")
        page.wait_for_load_state("networkidle")
        timings = _timings(page)
        # the box's own work, with the page loaded: decoding the model's file, one answer
        timings.update(page.evaluate("""async () => {
            const t0 = performance.now();
            const model = await seqattn.loadModel(SEQATTN_MODELS.attention_seq2seq);
            const t1 = performance.now();
            seqattn.translate(model, 'August 31, 1938');
            const t2 = performance.now();
            return {decode: Math.round(t1 - t0), answer: Math.round(t2 - t1)}; }"""))
        at_load = {_file_of(u) for u in report["requests"]}
        for name in ("attention_seq2seq_epoch1", "attention_seq2seq_epoch2"):
            _click_epoch(page, name)
        page.wait_for_load_state("networkidle")
        with_all = {_file_of(u) for u in report["requests"]}
        _clean(report, "the budget's page")
    finally:
        page.close()

    size = sum(p.stat().st_size for p in at_load)
    size_all = sum(p.stat().st_size for p in with_all)
    biggest = sorted(at_load, key=lambda p: -p.stat().st_size)[:5]
    print(f"\nchapter 8 as it loads: {size / 1e6:.2f} MB in {len(at_load)} files; with the "
          f"epoch-1 and epoch-2 models: {size_all / 1e6:.2f} MB in {len(with_all)} files")
    print("largest: " + ", ".join(f"{p.relative_to(HTML)} {p.stat().st_size / 1e6:.2f} MB"
                                  for p in biggest))
    load = os.getloadavg()[0]
    print(f"box ready at {timings['ready']} ms from the navigation's start; load event ended "
          f"at {timings['load_event_end']} ms, DOMContentLoaded at "
          f"{timings['dom_content_loaded']} ms; the model's script ran at "
          f"{timings['model_loaded']} ms and was decoded at {timings['model_decoded']} ms: "
          f"the box's own time, from its model's script to its first answer, "
          f"{timings['ready'] - timings['model_loaded']} ms; with the page loaded, decoding "
          f"the model takes {timings['decode']} ms and an answer {timings['answer']} ms "
          f"(load average {load:.2f}, {os.cpu_count()} cores)")
    assert any(p.name == "model-attention_seq2seq.js" for p in at_load), (
        "the page did not load the epoch-10 model: the budget would not include it")
    assert {"model-attention_seq2seq_epoch1.js", "model-attention_seq2seq_epoch2.js"} <= {
        p.name for p in with_all}, "the epoch buttons did not load their models"
    assert size < BUDGET, (f"the page loads {size / 1e6:.2f} MB, over the budget of "
                           f"{BUDGET / 1e6:.0f} MB; largest: {[p.name for p in biggest]}")
    assert timings["ready"] <= timings["load_event_end"] + READY_AFTER_LOAD, (
        f"the box was ready {timings['ready']} ms after the navigation's start, "
        f"{timings['ready'] - timings['load_event_end']} ms after the page's load event: "
        f"more than {READY_AFTER_LOAD} ms")
    assert timings["decode"] + timings["answer"] < READY_AFTER_LOAD, (
        f"with the page loaded, the engine took {timings['decode']} ms to decode the model and "
        f"{timings['answer']} ms to answer: more than {READY_AFTER_LOAD} ms")
