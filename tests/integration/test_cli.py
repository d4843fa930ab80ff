"""The `luigi` command as people run it: exit codes, RangeDaily backfill and skip."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import luigi
import psycopg2

from tests.conftest import luigi_cli, luigi_settings
from workflows import RangeDaily, RunAll, pipelines



class _Broken(BaseHTTPRequestHandler):
    hits = 0

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        type(self).hits += 1
        self.send_response(500)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"boom")


def run_luigi(args: list[str], cfg: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run `luigi … --local-scheduler` on the fakestore pipeline to the end."""
    proc = luigi_cli([*args, "--local-scheduler"], cfg + '\n[runall]\npipelines = ["fakestore"]\n', tmp_path)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_failed_task_exits_non_zero(pg_dsn, tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        cfg = (
            f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
            f"[fakestore]\nbase_url = http://127.0.0.1:{httpd.server_address[1]}\nretries = 2\nbackoff_factor = 0\n"
        )
        proc = run_luigi(["RunAll", "--date", "2026-11-20"], cfg, tmp_path)
    finally:
        httpd.shutdown()
    assert proc.returncode == 30, proc.stderr[-2000:]  # [retcode] task_failed
    assert "answered HTTP 500" in proc.stderr
    assert _Broken.hits >= 3  # the first try and two retries per entity


def test_success_exits_zero(pg_dsn, tmp_path):
    cfg = f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
    proc = run_luigi(["RunAll", "--date", "2026-11-20"], cfg, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "\nOK · " in proc.stderr and "Traceback" not in proc.stderr


def test_range_daily_backfills_missing_dates_once(pg_dsn, tmp_path):
    start, stop = dt.date(2026, 11, 10), dt.date(2026, 11, 15)
    now = int(time.mktime(dt.date(2026, 11, 21).timetuple()))
    with luigi_settings({"warehouse": {"dsn": pg_dsn}, "lake": {"root": str(tmp_path / "lake")},
                         "runall": {"pipelines": '["fakestore"]'}}):
        assert luigi.build([RunAll(date=dt.date(2026, 11, 12))], local_scheduler=True)
        result = luigi.build(
            [RangeDaily(of=RunAll, start=start, stop=stop, now=now)], local_scheduler=True, detailed_summary=True
        )
        assert result.status.name == "SUCCESS", result.summary_text
        ran = {t.date for t in result.worker._scheduled_tasks.values() if isinstance(t, RunAll)}
        assert ran == {dt.date(2026, 11, d) for d in (10, 11, 13, 14)}  # 11-12 was done; stop is exclusive
        again = luigi.build([RangeDaily(of=RunAll, start=start, stop=stop, now=now)], local_scheduler=True, detailed_summary=True)
        assert not [t for t in again.worker._scheduled_tasks.values() if isinstance(t, RunAll)]
        assert RunAll.bulk_complete([start + dt.timedelta(days=i) for i in range(6)]) == [
            start + dt.timedelta(days=i) for i in range(5)
        ]


def test_a_whole_day_fits_on_a_screen(pg_dsn, tmp_path):
    """Every pipeline for one day: one line per entity, one per entity whose audit did not pass,
    one per pipeline (audits, marts, checks), one for the reports; then the table (issue 12: a screen
    or two, not a line per task)."""
    proc = luigi_cli(["RunAll", "--date", "2026-11-20", "--local-scheduler"],
                     f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n", tmp_path)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM etl.task_runs WHERE status = 'success'")
        ran = cur.fetchone()[0]
        cur.execute("SELECT DISTINCT pipeline, entity FROM etl.dq_results WHERE step = 'audit' AND status <> 'pass'")
        warned = set(cur.fetchall())
    declared = [(p.name, e) for p in pipelines.PIPELINES.values() for e in p.entities]
    lines = err.splitlines()
    progress = [x for x in lines if x.startswith("[")]
    for pipeline, entity in declared:  # each entity once, its audit on a line of its own only when it warned
        assert sum(1 for x in progress if re.search(rf"✓ {pipeline} +{entity} +Extract→Load ", x)) == 1, entity
        assert sum(1 for x in progress if re.search(rf"! {pipeline} +{entity} +Audit ", x)) == ((pipeline, entity) in warned)
    for p in pipelines.PIPELINES:
        assert sum(1 for x in progress if re.search(rf"✓ {p} +\d+ marts.* Audit→Check ", x)) == 1, p
    assert len(progress) == len(declared) + len(warned) + len(pipelines.PIPELINES) + 1
    assert progress[-1].startswith(f"[{ran}/{ran}] ✓ (reports)")
    table = 2 + len(pipelines.PIPELINES) + 1  # header, rule, a row per pipeline, the reports
    assert len(lines) == 1 + len(progress) + 1 + table + 2  # title, lines, blank, table, report path, verdict
    assert len(lines) < 60 and ran > 150, (len(lines), ran)
