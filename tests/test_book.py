"""Checks on the built HTML book (`make test` builds it first, into _build/html).

The book must work offline: no page may load a script or a stylesheet from outside the book,
and every file a page does load must be in the build.
"""
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"

pytestmark = pytest.mark.skipif(
    not HTML.is_dir(), reason="_build/html does not exist: run `make book` (or `make test`) first"
)


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


def test_intro_page_is_built():
    assert (HTML / "book" / "intro.html").is_file()
    assert (HTML / "index.html").is_file()


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


def test_pages_without_widgets_load_no_widget_scripts():
    # Jupyter Book 1 adds every *.js under the book's _static/ to every page; widget scripts
    # there would run on every page and twice on widget pages (each view drawn twice)
    widget_pages = {HTML / p.relative_to(ROOT).with_suffix(".html") for p in _widget_notebooks()}
    loaded = [f"{page.relative_to(HTML)}: {script}"
              for page in _pages() if page not in widget_pages
              for script in _local_scripts(page) if script.startswith("_static/widgets/")]
    assert not loaded, "pages without widgets load widget scripts:\n" + "\n".join(loaded)
