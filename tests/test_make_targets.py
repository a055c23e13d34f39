"""The Make targets as a user meets them: `make bench` measures this machine without touching
the figures the book ships (bench/results.json), so that `make test` stays green after it."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_bench_leaves_the_shipped_figures_alone():
    shipped = ROOT / "bench" / "results.json"
    before = shipped.read_bytes()
    fresh = ROOT / "_build" / "bench" / "results.json"
    fresh.unlink(missing_ok=True)
    # nothing timed (no model, no variant, no whole run): the target's plumbing only
    done = subprocess.run(["make", "--no-print-directory", "bench",
                           "BENCH_ARGS=--models --variants --small-runs 0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert shipped.read_bytes() == before, "make bench rewrote the shipped bench/results.json"
    figures = json.loads(fresh.read_text())
    assert figures["results"] == {} and "cores" in figures["header"]
    assert "_build/bench/results.json" in done.stdout  # it says where the figures went
