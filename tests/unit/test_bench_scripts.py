"""Every benchmark under bench/ still imports what it measures: ``--help`` of each exits 0.

The benchmarks are not run by the tests (no timed tests), so a moved module would otherwise
only be found the next time someone benchmarks."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("bench_*.py")))
def test_bench_script_imports_and_shows_its_usage(script):
    done = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
