"""Showing the package's own code in the book, so the text and the code can never drift."""
import inspect

from IPython.display import Code


def show_source(obj):
    """The source of a class, function or module from this package, syntax-highlighted.

    The book calls this instead of copying code: the page always shows the code that runs.
    """
    return Code(inspect.getsource(obj), language="python")


def js_source(name, path=None):
    """The source of one function of the browser's engine (``seqattn/js/attention_seq2seq.js``,
    or path), with the comment above it: from that comment to the function's closing brace.
    Raises ValueError if the file has no such function."""
    from pathlib import Path

    path = Path(path) if path else Path(__file__).parent / "js" / "attention_seq2seq.js"
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [k for k, line in enumerate(lines)
              if line.lstrip().startswith((f"function {name}(", f"async function {name}("))]
    if len(starts) != 1:
        raise ValueError(f"{path.name} has {len(starts)} functions named {name!r}, not 1")
    start = first = starts[0]
    indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
    end = next(k for k in range(start, len(lines)) if lines[k] == indent + "}")
    if lines[start - 1].rstrip().endswith("*/"):  # the comment just above it
        while not lines[first - 1].lstrip().startswith("/*"):
            first -= 1
        first -= 1
    return "\n".join(line[len(indent):] for line in lines[first:end + 1]) + "\n"


def show_js(name, path=None):
    """One function of the browser's engine, syntax-highlighted (see ``js_source``)."""
    return Code(js_source(name, path), language="javascript")
