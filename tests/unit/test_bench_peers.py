"""bench/bench_peers.py's pure helpers: --sizes parsing and the ratio table (no timing, no database)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "bench_peers.py"
_spec = importlib.util.spec_from_file_location("bench_peers", _PATH)
bp = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_peers", bp)  # dataclasses look their module up there
_spec.loader.exec_module(bp)


def test_sizes_bare_list_applies_to_every_workload_and_prefixed_lists_to_one():
    assert bp.parse_sizes(["2000"]) == {"content": [2000], "activity": [2000]}
    assert bp.parse_sizes(["activity:250000,2_000_000", "content:1000"]) == {
        "content": [1000], "activity": [250000, 2000000]}
    assert bp.parse_sizes(["content:500"]) == {"content": [500]}


@pytest.mark.parametrize("bad", ["bikes:1000", "content:", "content:1x", "50"])
def test_sizes_refuses_unknown_workloads_and_non_sizes(bad):
    with pytest.raises(ValueError):
        bp.parse_sizes([bad])


def test_table_medians_rates_floor_ratios_and_the_best_peer():
    run = bp.Run
    runs = {
        "project": [run(4.0, 990, 300), run(2.0, 990, 350), run(3.0, 990, 320)],   # median 3 s
        "floor": [run(0.5, 1000, 30), run(0.25, 1000, 31), run(1.0, 1000, 29)],  # median 0.5 s
        "dlt_default": [run(2.0, 998, 200)],
        "pandas": [run(1.0, 980, 150)],
    }
    by = {s.method: s for s in bp.summarize(1000, runs)}
    # 1000 rows: 1000/3 = 333.3 rows/s; floor 1000/0.5 = 2000 rows/s; dlt 500; pandas 1000
    assert by["project"].median_s == 3.0 and by["project"].rows_per_s == pytest.approx(1000 / 3)
    assert by["project"].x_floor == pytest.approx((1000 / 3) / 2000)
    assert by["floor"].x_floor == pytest.approx(1.0)
    assert by["dlt_default"].x_floor == pytest.approx(0.25)
    assert by["project"].peak_rss_mib == 350 and by["floor"].end_rows == 1000
    assert bp.best_peer(list(by.values())) == ("pandas", pytest.approx(1 / 3))

    table = bp.format_table("activity day", 1000, list(by.values()), failed=["dlt_arrow"])
    assert "this project ÷ best peer (pandas script): 0.33×" in table
    assert "dlt from Arrow" in table and "FAILED" in table
    project_line = next(line for line in table.splitlines() if line.startswith("this project "))
    assert project_line.split()[2:7] == ["1,000", "3.00", "333", "0.167", "990"]

    row = bp.issue_row("activity day", list(by.values()))
    assert row.startswith("| activity day | 333 rows/s (0.167×), 3.0 s; 0.33× the best peer | pandas script: 1,000")
    assert row.endswith("| 2,000 rows/s, 0.5 s |")


def test_rss_table_has_a_column_per_size_and_a_dash_where_a_method_did_not_run():
    run = bp.Run
    small = bp.summarize(100, {"project": [run(1.0, 100, 250), run(1.0, 100, 253)], "floor": [run(0.1, 100, 30)]})
    large = bp.summarize(800, {"project": [run(8.0, 800, 300)]})
    lines = bp.rss_table("activity", {250000: small, 2000000: large}).splitlines()
    assert lines[0].split()[-2:] == ["250,000", "2,000,000"]
    assert lines[1].split()[-2:] == ["253", "300"] and lines[1].startswith("this project")
    assert lines[2].split()[-2:] == ["30", "—"] and lines[2].startswith("plain COPY floor")


def test_no_ratio_without_the_project_or_without_a_peer():
    run = bp.Run
    only_floor = bp.summarize(100, {"floor": [run(1.0, 100, 1)], "dlt_tuned": [run(2.0, 100, 1)]})
    assert bp.best_peer(only_floor) is None
    assert bp.best_peer(bp.summarize(100, {"project": [run(1.0, 100, 1)]})) is None
