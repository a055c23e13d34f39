"""Showing the package's own code in the book, so the text and the code can never drift."""
import inspect

from IPython.display import Code


def show_source(obj):
    """The source of a class, function or module from this package, syntax-highlighted.

    The book calls this instead of copying code: the page always shows the code that runs.
    """
    return Code(inspect.getsource(obj), language="python")
