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


def merge_streams(nb):
    """Joins each cell's consecutive stdout (or stderr) outputs into one, as a reader expects
    of one print loop: the kernel may flush a cell's prints in several messages."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            if (merged and out.output_type == "stream" and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged


def execute(path, timeout=900):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    merge_streams(nb)
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
