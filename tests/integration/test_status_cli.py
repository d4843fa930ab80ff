"""`make status DAYS=N FAILED=1` / `python -m workflows.status --days N --failed` on a real warehouse."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2

from tests.conftest import luigi_settings
from workflows import warehouse

REPO = Path(__file__).resolve().parents[2]
_ROW = """
INSERT INTO etl.task_runs (task_id, task_family, ds, finished_at, status, rows_out, error)
VALUES (%s, %s, current_date - %s, now() - make_interval(days => %s), %s, %s, %s)
"""


def seeded(pg_dsn: str) -> None:
    with luigi_settings({"warehouse": {"dsn": pg_dsn}}):
        warehouse.connect().close()  # migrates: etl.task_runs exists
    rows = [("Load_ok", "Load", 1, 1, "success", 10, None),
            ("Load_recent", "Load", 1, 1, "failed", None, "boom recent"),
            ("Mart_old", "Mart", 10, 10, "failed", None, "boom old")]
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.executemany(_ROW, rows)
    conn.close()


def status(pg_dsn: str, tmp_path: Path, *cmd: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "status.cfg"
    cfg.write_text(f"[warehouse]\ndsn = {pg_dsn}\n")
    return subprocess.run(list(cmd), cwd=REPO, env={**os.environ, "LUIGI_CONFIG_PATH": str(cfg)},
                          capture_output=True, text=True, timeout=120)


def test_make_status_passes_days_and_failed(pg_dsn, tmp_path):
    seeded(pg_dsn)
    recent = status(pg_dsn, tmp_path, "make", "-s", "status", "DAYS=3", "FAILED=1")
    assert recent.returncode == 0, recent.stderr
    lines = recent.stdout.splitlines()
    assert lines[0] == "Failed runs, last 3 days: 1"
    assert [line.split()[-3:] for line in lines[2:]] == [["Load_recent", "boom", "recent"]]

    month = status(pg_dsn, tmp_path, "make", "-s", "status", "DAYS=30", "FAILED=1")
    assert month.stdout.splitlines()[0] == "Failed runs, last 30 days: 2"
    assert "Mart_old" in month.stdout and "Task runs by ds" not in month.stdout


def test_status_summary_covers_the_days_asked_for(pg_dsn, tmp_path):
    seeded(pg_dsn)
    out = status(pg_dsn, tmp_path, sys.executable, "-m", "workflows.status", "--days", "3")
    assert out.returncode == 0, out.stderr
    summary = out.stdout.split("\n\n")[0].splitlines()
    assert summary[0] == "Task runs by ds and task family, last 3 days:"
    assert [row.split()[1:4] for row in summary[2:]] == [["Load", "1", "1"]]  # ok 1, failed 1; Mart_old is older

    bad = status(pg_dsn, tmp_path, sys.executable, "-m", "workflows.status", "--days", "0")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].endswith("--days must be at least 1, not 0")
