"""The README's exit-code table, row by row: the real `luigi` command in a subprocess, one line on
the terminal, no traceback; plus a run from another directory and an oldest-first backfill."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
NOW = int(time.mktime(dt.date(2026, 11, 21).timetuple()))


def luigi_in(cwd, args, cfg: str, tmp_path: Path, module: str = "workflows", pythonpath: str = "") -> subprocess.CompletedProcess:
    path = tmp_path / "run.cfg"
    path.write_text(cfg)
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_HOME",)}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "luigi", "--module", module, *args], cwd=cwd,
                          env={**env, "LUIGI_CONFIG_PATH": str(path)}, capture_output=True, text=True, timeout=300)


class _Broken(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.send_response(500)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"boom")


@pytest.fixture
def broken_api():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


FUTURE = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=3)
ROWS = [  # (mistake, extra config, arguments, exit code, the one line's start)
    ("malformed setting", "[warehouse]\ndsn = postgresql://u@127.0.0.1:x/db\n", ["RunAll", "--date", "2026-11-20"], 2,
     "configuration error: [warehouse] dsn: port is not a number: 'x'"),
    ("missing variable", "[alerts]\nwebhook_url = ${WAREHOUSE_TEST_NO_SUCH_VARIABLE}\n", ["RunAll", "--date", "2026-11-20"],
     2, "configuration error: [alerts] webhook_url: Config refers to a nonexisting environment variable "
        "WAREHOUSE_TEST_NO_SUCH_VARIABLE."),
    ("bad date", "", ["RunAll", "--date", "2026-13-01"], 2, "error: RunAll: not a date (YYYY-MM-DD): 2026-13-01"),
    ("future date", "", ["RunAll", "--date", str(FUTURE)], 2, f"error: --date {FUTURE} is in the future"),
    ("unknown pipeline in [runall]", '[runall]\npipelines = ["fakestore", "nope"]\n', ["RunAll", "--date", "2026-11-20"],
     2, "configuration error: [runall] pipelines: unknown pipeline 'nope' (valid: activity, bikes, content, "
        "fakestore, library)"),
    ("unknown pipeline", "", ["Load", "--pipeline", "nope", "--entity", "x", "--date", "2026-11-20"], 2,
     "error: unknown pipeline 'nope'; known: activity, bikes, content, fakestore, library"),
    ("unknown entity", "", ["Load", "--pipeline", "fakestore", "--entity", "x", "--date", "2026-11-20"], 2,
     "error: pipeline 'fakestore' has no entity 'x'; known: carts, products, users"),
    ("unknown mart", "", ["Mart", "--pipeline", "fakestore", "--mart", "nope", "--date", "2026-11-20"], 2,
     "error: pipeline 'fakestore' has no mart 'nope'; known: dim_product, dim_user, fact_sales"),
    ("unknown task", "", ["RunAl", "--date", "2026-11-20"], 2, "error: unknown task 'RunAl' (tasks: RunAll,"),
]


@pytest.mark.parametrize("mistake,extra,args,code,line", ROWS, ids=[r[0] for r in ROWS])
def test_usage_mistakes_are_one_line_and_exit_2(mistake, extra, args, code, line, tmp_path, pg_dsn):
    warehouse = "" if extra.startswith("[warehouse]") else f"[warehouse]\ndsn = {pg_dsn}\n"
    cfg = f"{warehouse}[lake]\nroot = {tmp_path / 'lake'}\n" + extra
    proc = luigi_in(REPO, [*args, "--local-scheduler"], cfg, tmp_path)
    assert proc.returncode == code, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [line] or proc.stderr.strip().startswith(line), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "lake").exists()  # nothing ran


def test_unreachable_warehouse_exits_3(tmp_path):
    cfg = f"[warehouse]\ndsn = postgresql://nobody@127.0.0.1:{free_port()}/wh?connect_timeout=2\n"
    proc = luigi_in(REPO, ["RunAll", "--date", "2026-11-20", "--local-scheduler"], cfg, tmp_path)
    assert proc.returncode == 3, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to the warehouse ([warehouse] dsn)")


def test_unreachable_scheduler_exits_4(tmp_path, pg_dsn):
    cfg = f"[warehouse]\ndsn = {pg_dsn}\n[core]\nrpc_retry_attempts = 1\nrpc_retry_wait = 0\n"
    proc = luigi_in(REPO, ["RunAll", "--date", "2026-11-20", "--scheduler-port", str(free_port())], cfg, tmp_path)
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: cannot reach the central scheduler at http://")
    assert "Traceback" not in proc.stderr


class _Slow(_Broken):
    def do_GET(self):  # noqa: N802
        time.sleep(8)
        super().do_GET()


def test_the_same_command_twice_exits_10_with_one_line(tmp_path, pg_dsn):
    """Luigi's pid lock: while a run holds it, the same command exits at once with code 10."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    locks = tmp_path / "locks"
    cfg = (f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n[core]\nlock_pid_dir = {locks}\n"
           f"[fakestore]\nbase_url = http://127.0.0.1:{httpd.server_address[1]}\nretries = 0\nread_timeout = 30\n"
           '[runall]\npipelines = ["fakestore"]\n')
    (tmp_path / "run.cfg").write_text(cfg)
    args = [sys.executable, "-m", "luigi", "--module", "workflows", "RunAll", "--date", "2026-11-20", "--local-scheduler"]
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(tmp_path / "run.cfg")}
    first = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (locks.is_dir() and any(locks.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        assert first.poll() is None  # the first still runs (its source answers slowly)
    finally:
        first.communicate(timeout=120)
        httpd.shutdown()
    assert second.returncode == 10, second.stderr[-2000:]
    assert second.stderr.strip().splitlines() == [
        "error: this command is already running in another process (luigi's pid lock; --no-lock to run anyway)"]
    assert first.returncode == 30  # the slow source answered HTTP 500 in the end


UNEXPECTED = """
\"\"\"A task with a bug outside complete(), requires() and run(), for one test.\"\"\"
import luigi

import workflows  # noqa: F401 - the terminal, as under `luigi --module workflows`


class Unexpected(luigi.Task):
    date = luigi.DateParameter()

    def process_resources(self):
        raise RuntimeError("a bug in process_resources")
"""


def test_anything_unexpected_exits_40_with_one_line_and_the_traceback_in_the_log(tmp_path, pg_dsn):
    (tmp_path / "unexpected_bug.py").write_text(UNEXPECTED)
    cfg = f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
    proc = luigi_in(REPO, ["Unexpected", "--date", "2026-11-20", "--local-scheduler", "--log-dir", str(tmp_path / "logs")],
                    cfg, tmp_path, module="unexpected_bug", pythonpath=str(tmp_path))
    assert proc.returncode == 40, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (log,) = (tmp_path / "logs").glob("luigi-*.log")
    errors = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert errors == [f"error: unexpected error: a bug in process_resources (traceback in {log})"], proc.stderr
    assert "Traceback" in log.read_text() and "a bug in process_resources" in log.read_text()


def test_missing_drop_exits_20_with_one_line_per_file(tmp_path, pg_dsn):
    (tmp_path / "drops").mkdir()
    cfg = (f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n[content]\nlanding = {tmp_path / 'drops'}\n"
           '[runall]\npipelines = ["content"]\n')
    proc = luigi_in(REPO, ["RunAll", "--date", "2026-11-20", "--local-scheduler"], cfg, tmp_path)
    assert proc.returncode == 20, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    missing = [x for x in proc.stderr.splitlines() if "content drop not found" in x]
    assert len(missing) == 3  # ga4_events, gam_delivery, cms_articles
    assert "FAILED: 3 tasks failed" in proc.stderr


def test_refused_snapshot_and_failed_source_exit_30_from_another_directory(tmp_path, pg_dsn, broken_api):
    """From `/`: the retcodes still apply (package defaults), the failure is one line per task."""
    cfg = (f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
           f"[fakestore]\nbase_url = {broken_api}\nretries = 0\n" + '[runall]\npipelines = ["fakestore"]\n')
    proc = luigi_in("/", ["RunAll", "--date", "2026-11-20", "--local-scheduler"], cfg, tmp_path)
    assert proc.returncode == 30, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    errors = [x.strip() for x in proc.stderr.splitlines() if x.startswith("      ")]
    assert any("is a snapshot the API serves as of now" in x for x in errors), errors  # products, users refused
    assert any("answered HTTP 500" in x for x in errors), errors  # carts
    assert (tmp_path / "lake").is_dir() and not Path("/data/lake").exists()


def test_success_prints_the_table_and_the_report_path_even_at_log_level_warning(tmp_path, pg_dsn):
    cfg = f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n" + '[runall]\npipelines = ["fakestore"]\n'
    proc = luigi_in(tmp_path, ["RunAll", "--date", "2026-11-20", "--local-scheduler", "--log-level", "WARNING",
                               "--log-dir", str(tmp_path / "logs")], cfg, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM etl.task_runs WHERE status = 'success'")
        ran = cur.fetchone()[0]
        cur.execute("SELECT count(DISTINCT entity) FROM etl.dq_results WHERE step = 'audit' AND status <> 'pass'")
        warned = cur.fetchone()[0]
    assert lines[0].startswith(f"luigi-warehouse 2026-11-20: {ran} tasks to run")
    progress = [x for x in lines if x.startswith("[")]
    # a line per entity (extract → load), per entity whose audit did not pass, for the pipeline, for the reports
    assert len(progress) == 3 + warned + 1 + 1, proc.stderr
    assert progress[-1].startswith(f"[{ran}/{ran}] ✓ (reports)")
    assert lines[-1].startswith(f"OK · {ran} run")
    report = tmp_path / "lake" / "reports" / "dq" / "ds=2026-11-20" / "dq_report_2026-11-20.xlsx"
    assert report.is_file() and f"DQ report: {report}" in proc.stderr
    assert len(list((tmp_path / "logs").glob("luigi-*.log"))) == 1


def test_range_daily_runs_oldest_date_first(tmp_path, pg_dsn):
    cfg = f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n" + '[runall]\npipelines = ["fakestore"]\n'
    proc = luigi_in(REPO, ["RangeDaily", "--of", "RunAll", "--start", "2026-11-17", "--stop", "2026-11-20",
                           "--now", str(NOW), "--local-scheduler"], cfg, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT ds, min(started_at), max(finished_at) FROM etl.task_runs GROUP BY ds ORDER BY min(started_at)")
        spans = cur.fetchall()
    assert [d for d, _, _ in spans] == [dt.date(2026, 11, d) for d in (17, 18, 19)]
    for (_, _, end), (_, start, _) in zip(spans, spans[1:]):
        assert end <= start  # a date's tasks all finished before the next date's first task started


BUGGY = """
\"\"\"A pipeline declared with a bug, for one test: ``luigi --module buggy_pipeline …``.\"\"\"
import pyarrow as pa

from workflows import pipelines
from workflows.config import Source
from workflows.declarations import Column, Drop, Entity, Mart, Pipeline


class buggy(Source):  # noqa: N801 - the settings section [buggy]
    pass


SHOPS = Entity("shops", {schema!r}, Drop("shops_{{yyyymmdd}}.csv"), key=("shop_id",),
               columns=(Column("shop_id", pa.int64(), "shop_id"),))
pipelines.PIPELINES["buggy"] = Pipeline("buggy", {{"shops": SHOPS}},
                                        {{"daily": Mart("daily", {sql!r}, {reads!r})}}, settings=buggy)
"""
BUGS = [  # (the bug, the mart's entities, its checks file or None, the one error line)
    ("a mart reads an undeclared entity", ("ghost",), None,
     "error: Audit: pipeline 'buggy' has no entity 'ghost'; known: shops"),
    ("a mart's checks file does not parse", ("shops",), "{not json",
     "error: MartBuild: {tmp}/daily.checks.json: not valid JSON: Expecting property name enclosed in double quotes"),
]


@pytest.mark.parametrize("bug,reads,checks,line", BUGS, ids=[b[0] for b in BUGS])
def test_a_task_whose_complete_or_requires_raises_exits_35_with_one_line(bug, reads, checks, line, tmp_path, pg_dsn):
    """Row 35: a bug in a declaration makes a task's complete() or requires() raise while the graph is
    scheduled; nothing runs, and the one line names the task and the exception."""
    (tmp_path / "shops.json").write_text('{"type": "object", "properties": {"shop_id": {"type": "integer"}}}')
    (tmp_path / "daily.sql").write_text("SELECT 0;")
    if checks is not None:
        (tmp_path / "daily.checks.json").write_text(checks)
    (tmp_path / "buggy_pipeline.py").write_text(BUGGY.format(schema=str(tmp_path / "shops.json"),
                                                             sql=str(tmp_path / "daily.sql"), reads=reads))
    cfg = f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
    proc = luigi_in(REPO, ["Mart", "--pipeline", "buggy", "--mart", "daily", "--date", "2026-11-20", "--local-scheduler"],
                    cfg, tmp_path, module="buggy_pipeline", pythonpath=str(tmp_path))
    assert proc.returncode == 35, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    errors = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(line.format(tmp=tmp_path)), proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1].startswith("scheduling error · 0 run"), proc.stderr
    assert not (tmp_path / "lake").exists()  # nothing ran
