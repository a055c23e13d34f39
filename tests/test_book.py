"""Checks on the built HTML book (`make test` builds it first, into _build/html), and on the
notebooks and figures it is built from.

The book must work offline: no page may load a script or a stylesheet from outside the book,
and every file a page does load must be in the build. The checks on the build skip when
_build/html is missing (run `make book`), and fail instead under CI (CI=true).
"""
import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def built():
    """The built book: a skip when it is missing, a failure under CI."""
    if not HTML.is_dir():
        reason = "_build/html does not exist: run `make book` (or `make test`) first"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the checks on the built book must run)")
        pytest.skip(reason)
    return HTML


needs_build = pytest.mark.usefixtures("built")


class _Assets(HTMLParser):
    """Collects every <script src=...> and <link href=...> of a page, and whether it has math."""

    def __init__(self):
        super().__init__()
        self.assets = []  # (tag, url)
        self.has_math = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.assets.append((tag, attrs["src"]))
        elif tag == "link" and attrs.get("href"):
            self.assets.append((tag, attrs["href"]))
        if "math" in (attrs.get("class") or "").split():
            self.has_math = True


def _is_external(url):
    return bool(re.match(r"^(https?:)?//", url.strip(), re.IGNORECASE))


def _pages():
    # _static/ holds theme templates (webpack macros), not pages of the book
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.relative_to(HTML).parts)


def _parse(page):
    parser = _Assets()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@needs_build
def test_intro_page_is_built():
    assert (HTML / "book" / "intro.html").is_file()
    assert (HTML / "index.html").is_file()


@needs_build
def test_no_page_loads_scripts_or_stylesheets_from_outside_the_book():
    pages = _pages()
    assert pages, "no HTML pages in _build/html"
    external = [
        f"{page.relative_to(HTML)}: <{tag}> {url}"
        for page in pages
        for tag, url in _parse(page).assets
        if _is_external(url)
    ]
    assert not external, "pages load from outside the book:\n" + "\n".join(external)


@needs_build
def test_every_local_script_and_stylesheet_is_in_the_build():
    missing = []
    for page in _pages():
        for tag, url in _parse(page).assets:
            if _is_external(url):
                continue  # reported by the test above
            path = urlsplit(url).path
            if not path:
                continue
            if not (page.parent / path).resolve().is_file():
                missing.append(f"{page.relative_to(HTML)}: <{tag}> {url}")
    assert not missing, "pages refer to files missing from _build/html:\n" + "\n".join(missing)


@needs_build
def test_pages_with_math_load_mathjax_from_the_book():
    math_pages = [page for page in _pages() if _parse(page).has_math]
    assert math_pages, "no page has math, so this check would prove nothing (book/intro.md has some)"
    for page in math_pages:
        scripts = [url for tag, url in _parse(page).assets if tag == "script"]
        mathjax = [url for url in scripts if "mathjax" in url.lower()]
        assert mathjax, f"{page.relative_to(HTML)} has math but loads no MathJax"
        for url in mathjax:
            assert not _is_external(url), f"{page.relative_to(HTML)} loads MathJax from {url}"
            assert (page.parent / urlsplit(url).path).resolve().is_file()
    # MathJax's CommonHTML output loads its fonts from beside the script
    fonts = HTML / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert any(fonts.glob("*.woff")), f"no MathJax fonts in {fonts.relative_to(HTML)}"


# --- widgets (chapter 8): their state is in the notebook and the page; their JavaScript is ours --

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
# what _config.yml's nb_ipywidgets_js loads (`make widgets`), in this order
WIDGET_SCRIPTS = ["_static/widgets/require.js", "_static/widgets/widgets-config.js",
                  "_static/widgets/embed-amd.js"]
MAX_STATE_BYTES = 3_000_000  # per page: every PNG of the browser (pages x epochs) is in it


def _widget_notebooks():
    """{notebook path: (model ids its outputs display, its stored widget state)}."""
    found = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        views = {output["data"][VIEW_MIME]["model_id"]
                 for cell in nb["cells"] if cell["cell_type"] == "code"
                 for output in cell.get("outputs", []) if VIEW_MIME in output.get("data", {})}
        if views:
            state = nb["metadata"].get("widgets", {}).get(STATE_MIME, {}).get("state", {})
            found[path] = (views, state)
    return found


def _local_scripts(page):
    """The page's <script src> paths, relative to _build/html, without ?v=... queries."""
    return [(page.parent / urlsplit(url).path).resolve().relative_to(HTML.resolve()).as_posix()
            for tag, url in _parse(page).assets if tag == "script" and not _is_external(url)]


@needs_build
def test_pages_that_show_widgets_hold_their_state():
    notebooks = _widget_notebooks()
    assert ROOT / "book" / "08_seeing_attention.ipynb" in notebooks, (
        "chapter 8 shows no widgets: its attention browser is missing or was never executed")
    for path, (views, state) in notebooks.items():
        name = path.relative_to(ROOT)
        missing = sorted(views - state.keys())
        assert not missing, (f"{name} displays widgets whose state it does not hold {missing}: "
                             "the static book would draw nothing there; run `make notebooks`")
        size = len(json.dumps(state))
        assert size < MAX_STATE_BYTES, f"{name} stores {size:,} bytes of widget state"
        page = HTML / path.relative_to(ROOT).with_suffix(".html")
        text = page.read_text(encoding="utf-8")
        assert text.count(f'<script type="{STATE_MIME}">') == 1, (
            f"{page.relative_to(HTML)} does not carry the widget state of {name}")
        scripts = [s for s in _local_scripts(page) if s.startswith("_static/widgets/")]
        assert scripts == WIDGET_SCRIPTS, (
            f"{page.relative_to(HTML)} loads the widget scripts {scripts}, expected "
            f"{WIDGET_SCRIPTS}, each once and in this order")


@needs_build
def test_pages_without_widgets_load_no_widget_scripts():
    # Jupyter Book 1 adds every *.js under the book's _static/ to every page; widget scripts
    # there would run on every page and twice on widget pages (each view drawn twice)
    widget_pages = {HTML / p.relative_to(ROOT).with_suffix(".html") for p in _widget_notebooks()}
    loaded = [f"{page.relative_to(HTML)}: {script}"
              for page in _pages() if page not in widget_pages
              for script in _local_scripts(page) if script.startswith("_static/widgets/")]
    assert not loaded, "pages without widgets load widget scripts:\n" + "\n".join(loaded)


# --- the page around the text: footer, favicon, the Hangul of the book's title -------------------

@needs_build
def test_no_page_shows_a_fixed_copyright_year():
    # Jupyter Book's default footer says "© Copyright 2023" whatever the year; _config.yml has none
    stale = [p.relative_to(HTML).as_posix() for p in _pages()
             if re.search(r"Copyright\s+\d{4}", p.read_text(encoding="utf-8"))]
    assert not stale, f"pages with a fixed copyright year in the footer: {stale}"


@needs_build
def test_every_page_has_a_favicon_in_the_build():
    missing = []
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        if re.search(r'http-equiv="refresh"', text, re.IGNORECASE):
            continue  # index.html only redirects to the intro
        icons = re.findall(r'<link rel="(?:shortcut )?icon" href="([^"]+)"', text)
        if not icons or not (page.parent / urlsplit(icons[0]).path).resolve().is_file():
            missing.append(f"{page.relative_to(HTML)}: {icons}")
    assert not missing, "pages without a favicon (the browser asks for /favicon.ico: a 404):\n" + (
        "\n".join(missing))


HANGUL = re.compile(r"[\uac00-\ud7a3]")


@needs_build
def test_the_book_serves_every_hangul_glyph_its_pages_use():
    # where the reader has no Korean font, a glyph the book does not serve shows as a box
    used = {c for page in _pages() for c in HANGUL.findall(page.read_text(encoding="utf-8"))}
    assert used, "no page has Hangul: the book title in book/intro.md is gone, or this test is"
    css = (HTML / "_static" / "book.css").read_text(encoding="utf-8")
    served = set()
    for face in re.findall(r"@font-face\s*{([^}]*)}", css):
        font = re.search(r"url\(([^)]+)\)", face)[1]
        assert (HTML / "_static" / font).is_file(), f"book.css names {font}, not in the build"
        for first, last in re.findall(r"U\+([0-9A-Fa-f]+)(?:-([0-9A-Fa-f]+))?", face):
            served |= {chr(c) for c in range(int(first, 16), int(last or first, 16) + 1)}
    assert not used - served, f"Hangul the book does not serve: {sorted(used - served)}"


# --- the notebooks: one printed block is one output ---------------------------------------------

def test_no_code_cell_splits_one_stream_into_several_outputs():
    # Two outputs in a row on the same stream (print, print) are drawn as two grey boxes, so one
    # printed table showed in pieces. scripts/execute_notebooks.py merges them when it executes.
    split = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(nb["cells"]):
            outputs = cell.get("outputs", []) if cell["cell_type"] == "code" else []
            for first, second in zip(outputs, outputs[1:]):
                if first["output_type"] == second["output_type"] == "stream" and (
                        first["name"] == second["name"]):
                    text = "".join(second["text"]).strip().splitlines()
                    split.append(f"{path.name}, cell {index} ({first['name']}): "
                                 f"{text[0] if text else ''!r}")
                    break
    assert not split, ("code cells whose printed output is split into several outputs "
                       "(re-execute them with `make notebooks`):\n" + "\n".join(split))


# --- figures: text large enough on a desktop and on a phone --------------------------------------

# The text column at 1280 px and at 390 px (tests/test_browser.py measures it), and the smallest
# text a figure may show. A notebook shows a figure at 100 dpi at its own size, shrunk to the
# column when wider: its text is pt * 100 / 72 * min(1, column / width) px.
COLUMNS = {1280: 960, 390: 358}
MIN_TEXT_PX = 9


def text_px(fig, dpi=100, column_390=None):
    """{page width: the smallest text of fig in px as displayed}, fig drawn as a notebook shows
    it (bbox_inches="tight"); fig is closed."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    width = Image.open(buffer).size[0]
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_figure() is fig]
    plt.close(fig)
    columns = dict(COLUMNS)
    if column_390 is not None:
        columns[390] = column_390
    return {page: min(sizes) * dpi / 72 * min(1, column / width)
            for page, column in columns.items()}


def _figures():
    import numpy as np

    from seqattn import plot

    rng = np.random.default_rng(0)
    question, answer = "tuesday, september 25, 1984".ljust(29), "1984-09-25"
    yield "show_heatmap", plot.show_heatmap(
        rng.dirichlet(np.ones(29), len(answer)), question, answer, title="a map").figure
    yield "plot_training", plot.plot_training(
        {"a": list(rng.random(400)), "b": list(rng.random(400))},
        {"a": [0.1, 0.5, 0.9], "b": [0.2, 0.4, 0.6]})[0].figure
    yield "draw_graph", plot.draw_graph(
        {"hs": (0, 0, "hs", "data"), "mul": (1.5, 0, "×", "op"), "a": (1.5, 1, "a", "data"),
         "sum": (3.1, 0, "sum over T", "op"), "c": (4.6, 0, "c", "data")},
        [("hs", "mul", "(N, T, H)"), ("a", "mul", "(N, T)"), ("mul", "sum", "(N, T, H)"),
         ("sum", "c", "(N, H)")], title="WeightSum").figure


@pytest.mark.parametrize("name", ["show_heatmap", "plot_training", "draw_graph"])
def test_the_plot_helpers_draw_text_of_9_px_or_more(name):
    fig = dict(_figures())[name]
    shown = text_px(fig)
    if name == "draw_graph":  # shown at its own size on a phone too, in a box that scrolls
        shown = {1280: shown[1280], 390: text_px(fig, column_390=10_000)[390]}
    small = {page: round(px, 1) for page, px in shown.items() if px < MIN_TEXT_PX}
    assert not small, (f"{name}: its smallest text shows at {small} px (page width: px), "
                       f"less than {MIN_TEXT_PX} px")


def test_every_graph_scrolls_on_a_phone_instead_of_shrinking():
    """draw_graph draws at a size legible where shown at full size; on a phone only the cell
    tag scroll-figure (book/_static/book.css) keeps it so, in a box that scrolls sideways."""
    untagged = [f"{path.name} cell {i}" for path in sorted((ROOT / "book").glob("*.ipynb"))
                for i, cell in enumerate(json.loads(path.read_text())["cells"])
                if cell["cell_type"] == "code" and "draw_graph(" in "".join(cell["source"])
                and "scroll-figure" not in cell["metadata"].get("tags", [])]
    assert not untagged, f"graphs that a phone would shrink: {untagged}"
