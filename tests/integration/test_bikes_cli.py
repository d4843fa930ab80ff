"""`luigi … --workers 2` runs the extracts of independent bikes tables at the same time.

The proof does not rely on timing: the test locks two source tables, so each of their Extract
tasks blocks inside its COPY. With one worker at most one extract can ever be waiting; the test
waits until the source server shows two extract sessions waiting on a lock at once, then
releases the locks and lets the run finish.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from workflows.demo import bikes_oltp

REPO = Path(__file__).resolve().parents[2]
DS = dt.date(2026, 11, 20)
LOCKED = ("salesorderheadersalesreason", "salesorderheader")


def waiting_extracts(dsn: str) -> int:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'luigi-warehouse-extract' AND wait_event_type = 'Lock'")
        return cur.fetchone()[0]


def test_extracts_of_independent_tables_run_in_parallel_with_two_workers(pg_dsn, tmp_path):
    source = bikes_oltp.ensure(pg_dsn, 7, 1, DS)  # the source as of DS, generated before the lock is taken
    cfg = tmp_path / "test.cfg"
    cfg.write_text(f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n[demo]\nseed = 7\nsize = 1\n"
                   "[worker]\nwait_interval = 0.1\nwait_jitter = 0.1\n")  # poll often: less idle time
    locker = psycopg2.connect(source)
    log = open(tmp_path / "luigi.log", "w+")
    try:
        locker.cursor().execute(f"LOCK TABLE {', '.join('sales.' + t for t in LOCKED)} IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen(
            [sys.executable, "-m", "luigi", "--module", "workflows", "Mart", "--pipeline", "bikes",
             "--mart", "fact_order_reason", "--date", str(DS), "--workers", "2", "--local-scheduler"],
            cwd=REPO, env={**os.environ, "LUIGI_CONFIG_PATH": str(cfg)}, stdout=log, stderr=subprocess.STDOUT)
        most, deadline = 0, time.monotonic() + 120
        while most < 2 and time.monotonic() < deadline and proc.poll() is None:
            most = max(most, waiting_extracts(source))
            time.sleep(0.1)
    finally:
        locker.rollback()
        locker.close()
    returncode = proc.wait(timeout=300)
    log.seek(0)
    output = log.read()
    log.close()
    assert most == 2, output[-3000:]
    assert returncode == 0, output[-3000:]

    metas = [json.loads((tmp_path / f"lake/raw/bikes/{t}/ds={DS}/{t}.csv.meta.json").read_text()) for t in LOCKED]
    assert metas[0]["pid"] != metas[1]["pid"]
    first, second = sorted(metas, key=lambda m: m["started_at"])
    assert second["started_at"] < first["finished_at"]  # the two extracts overlapped
    with contextlib.closing(psycopg2.connect(pg_dsn)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM bikes.fact_order_reason")
        facts = cur.fetchone()[0]
    with contextlib.closing(psycopg2.connect(source)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM sales.salesorderheadersalesreason")
        assert facts == cur.fetchone()[0] > 0
