"""Executes notebooks top to bottom in a fresh kernel each, in place, and prints the seconds
each took: ``python scripts/execute_notebooks.py book/*.ipynb`` (``make notebooks``).

nbclient stores the state of the widgets a notebook displays in its metadata, which the static
HTML book needs to draw them.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path, timeout=900):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(paths):
    if not paths:
        print("no notebooks to execute")
        return
    total = 0.0
    for path in map(Path, paths):
        seconds = execute(path)
        total += seconds
        print(f"{path}: {seconds:.1f} s", flush=True)
    print(f"all {len(paths)} notebooks: {total:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
