"""Operations: retries and one alert per final failure, the run log, settings validation,
backfills with RangeDaily, a central scheduler with two worker processes, and the compose config."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import luigi
import psycopg2
import psycopg2.extras

from targets import completed_dates
from workflows.tasks.runall import day_graph, topological
from tests.conftest import free_port, luigi_cli, luigi_settings, wait_http
from workflows import RangeDaily, RunAll, warehouse

REPO = Path(__file__).resolve().parents[2]
D = dt.date(2026, 11, 20)
FAKESTORE_ONLY = '\n[runall]\npipelines = ["fakestore"]\n'
NOW = int(time.mktime(dt.date(2026, 11, 21).timetuple()))


def serve(handler) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def query(dsn: str, sql: str, params=None) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


class Receiver(BaseHTTPRequestHandler):
    """A Slack-compatible webhook receiver: records every POSTed JSON body."""
    posts: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        type(self).posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class CartsDown(BaseHTTPRequestHandler):
    """A FakeStore API whose /carts endpoint is permanently broken."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        status, body = (500, b'{"error": "carts database down"}') if self.path.startswith("/carts") else (200, b"[]")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_permanent_failure_is_retried_then_alerted_once(pg_dsn, tmp_path):
    Receiver.posts = []
    hook, api = serve(Receiver), serve(CartsDown)
    try:
        cfg = (f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
               f"[fakestore]\nbase_url = http://127.0.0.1:{api.server_address[1]}\nretries = 0\nsnapshot_max_age_days = 100000\n"
               f"[alerts]\nwebhook_url = http://127.0.0.1:{hook.server_address[1]}/hook\nscheduler_url = http://127.0.0.1:8082\n"
               "[scheduler]\nretry_delay = 1\nretry_count = 2\n[worker]\nkeep_alive = true\nwait_interval = 0.2\n"
               + FAKESTORE_ONLY)
        proc = luigi_cli(["RunAll", "--date", str(D), "--local-scheduler"], cfg, tmp_path)
        _, err = proc.communicate(timeout=240)
    finally:
        hook.shutdown()
        api.shutdown()
    assert proc.returncode == 30, err[-3000:]
    failed = query(pg_dsn, "SELECT task_id, error FROM etl.task_runs WHERE status = 'failed'")
    assert len(failed) == 2 and len({t for t, _ in failed}) == 1  # one task, tried twice (retry_count = 2)
    task_id, error = failed[0]
    assert "entity=carts" in task_id or "carts" in task_id
    assert "answered HTTP 500" in error
    assert len(Receiver.posts) == 1, Receiver.posts  # only after the final attempt
    text = Receiver.posts[0]["text"]
    for expected in ("Extract failed", "pipeline: fakestore", task_id, f"date: {D}", "answered HTTP 500",
                     "http://127.0.0.1:8082/static/visualiser", "make status"):
        assert expected in text
    ok = query(pg_dsn, "SELECT task_family, rows_out FROM etl.task_runs WHERE status = 'success' ORDER BY task_id")
    assert ("Extract", 0) in ok  # products and users (empty snapshots) landed and are logged


def test_bad_settings_stop_the_run_with_one_line_each(tmp_path):
    cfg = ("[warehouse]\ndsn = postgresql://u@h:notaport/db\n[lake]\nroot = gs://bucket\n"
           "[alerts]\nwebhook_url = ${SURELY_NOT_SET_ALERT_URL}\n")
    proc = luigi_cli(["RunAll", "--date", str(D), "--local-scheduler"], cfg, tmp_path)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("configuration error:")]
    assert any("[warehouse] dsn: port is not a number: 'notaport'" in line for line in lines)
    assert any("[lake] root: unsupported scheme in 'gs://bucket'" in line for line in lines)
    assert any("[alerts] webhook_url" in line and "SURELY_NOT_SET_ALERT_URL" in line for line in lines)


def scheduled_dates(result) -> list[dt.date]:
    return sorted(t.date for t in result.worker._scheduled_tasks.values() if isinstance(t, RunAll))


def test_range_daily_runs_30_dates_once_then_nothing(pg_dsn, tmp_path):
    start, stop = dt.date(2026, 10, 21), dt.date(2026, 11, 20)
    settings = {"warehouse": {"dsn": pg_dsn}, "lake": {"root": str(tmp_path / "lake")},
                "runall": {"pipelines": '["fakestore"]'}}
    with luigi_settings(settings):
        first = luigi.build([RangeDaily(of=RunAll, start=start, stop=stop, now=NOW)], local_scheduler=True,
                            detailed_summary=True, workers=1)
        assert first.status.name == "SUCCESS", first.summary_text
        assert scheduled_dates(first) == [start + dt.timedelta(days=i) for i in range(30)]
        second = luigi.build([RangeDaily(of=RunAll, start=start, stop=stop, now=NOW)], local_scheduler=True,
                             detailed_summary=True)
        assert scheduled_dates(second) == []
    runs = query(pg_dsn, "SELECT task_id, count(*) FROM etl.task_runs WHERE status = 'success' GROUP BY task_id")
    assert {n for _, n in runs} == {1}  # every task ran exactly once
    marts = query(pg_dsn, "SELECT count(DISTINCT ds) FROM etl.task_runs WHERE task_family = 'Mart'")[0][0]
    assert marts == 30


def test_range_daily_over_400_done_dates_schedules_nothing(pg_dsn, tmp_path):
    settings = {"warehouse": {"dsn": pg_dsn}, "lake": {"root": str(tmp_path / "lake")},
                "runall": {"pipelines": '["fakestore"]'}}
    start = dt.date(2025, 10, 16)
    dates = [start + dt.timedelta(days=i) for i in range(400)]
    with luigi_settings(settings):
        warehouse.connect().close()  # creates the schema
        targets = RunAll(date=start).marker_targets()
        versions, edges = day_graph()  # markers as the current code writes them (code version; seq in order)
        rows = [(t, d, "bench", 0, versions[t]) for d in dates for t in topological(versions, edges)]
        with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
            psycopg2.extras.execute_values(
                cur, "INSERT INTO etl.partition_markers (target, ds, task_family, rows, code_version) VALUES %s", rows)
        assert completed_dates(warehouse.shared(), targets, dates) == set(dates)
        result = luigi.build([RangeDaily(of=RunAll, start=start, stop=dates[-1] + dt.timedelta(days=1), now=NOW)],
                             local_scheduler=True, detailed_summary=True)
        assert result.status.name == "SUCCESS"
        assert scheduled_dates(result) == []
        # one more date missing is found and is the only one scheduled
        query(pg_dsn, "DELETE FROM etl.partition_markers WHERE ds = %s AND target = %s", (dates[123], targets[0]))
        assert RunAll.bulk_complete(dates) == dates[:123] + dates[124:]



MARTS = {"mart.dim_product": "product_id", "mart.dim_user": "user_id", "mart.fact_sales": "cart_id, product_id"}


def mart_checksums(dsn: str) -> dict:
    return {t: query(dsn, f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY {k})) FROM {t} t")[0]
            for t, k in MARTS.items()}


def test_luigid_with_two_workers_runs_each_task_once(pg_server, tmp_path):
    dsns = {}
    admin = psycopg2.connect(pg_server.get_uri())
    admin.autocommit = True
    for name in ("scaled", "single"):
        db = f"{name}_{os.getpid()}_{free_port()}"
        admin.cursor().execute(f'CREATE DATABASE "{db}"')
        dsns[name] = pg_server.get_uri(db)
    admin.close()
    port = free_port()
    (tmp_path / "luigid").mkdir()
    sched_cfg = tmp_path / "luigid.cfg"
    sched_cfg.write_text(f"[scheduler]\nrecord_task_history = true\nmetrics_collector = prometheus\n"
                         f"state_path = {tmp_path / 'luigid/state.pickle'}\n"
                         f"[task_history]\ndb_connection = sqlite:///{tmp_path / 'luigid/history.db'}\n")
    luigid = subprocess.Popen([Path(sys.executable).parent / "luigid", "--address", "127.0.0.1", "--port", str(port),
                               "--logdir", str(tmp_path / "luigid")],
                              env={**os.environ, "LUIGI_CONFIG_PATH": str(sched_cfg)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/graph")
        args = ["RangeDaily", "--of", "RunAll", "--start", "2026-11-17", "--stop", "2026-11-20", "--now", str(NOW),
                "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)]
        # keep-alive workers wait for tasks another worker is running, as workers on several machines do
        cfg = (f"[warehouse]\ndsn = {dsns['scaled']}\n[lake]\nroot = {tmp_path / 'lake'}\n"
               "[worker]\nkeep_alive = true\nwait_interval = 0.2\n" + FAKESTORE_ONLY)
        # --no-lock: two workers of one machine would otherwise meet Luigi's pid lock (as on two machines, they do not)
        workers = [luigi_cli(args + ["--no-lock"], cfg, tmp_path, name=f"w{i}.cfg") for i in range(2)]
        outs = [w.communicate(timeout=300) for w in workers]
        # 0, or 10 ([retcode] already_running) for a worker that found tasks running on the other one
        assert {w.returncode for w in workers} <= {0, 10} and 0 in {w.returncode for w in workers}, \
            [o[1][-2000:] for o in outs]
        # what the other worker ran between two requests for work is not "not run" (terminal.Run.settle)
        assert all(o[1].splitlines()[-1].startswith("OK · ") for o in outs), [o[1][-2000:] for o in outs]
        with luigi_settings({"warehouse": {"dsn": dsns["scaled"]}, "runall": {"pipelines": '["fakestore"]'}}):
            dates = [dt.date(2026, 11, 17) + dt.timedelta(days=i) for i in range(3)]
            assert RunAll.bulk_complete(dates) == dates

        runs = query(dsns["scaled"], "SELECT task_id, count(*), min(pid) FROM etl.task_runs GROUP BY task_id")
        assert runs and all(n == 1 for _, n, _ in runs), runs  # every task ran exactly once
        # 3 dates × (3 Extract, 3 Stage, 3 Load, 3 Audit, 3 MartBuild, 3 Mart, Record, Check, DQReport, KPIReport, Pack)
        assert len(runs) == 3 * 23

        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        done = re.findall(r'luigi_task_done_total\{family="fakestore\.\w+\.Mart"\} (\d+)', metrics)  # per mart
        assert len(done) == 3 and sum(map(float, done)) >= 9
        history = urllib.request.urlopen(f"http://127.0.0.1:{port}/history", timeout=5).read().decode()
        assert "RunAll" in history or "Mart" in history
    finally:
        luigid.terminate()
        luigid.wait(timeout=30)

    # the same range with one worker and the local scheduler gives the same warehouse
    single = f"[warehouse]\ndsn = {dsns['single']}\n[lake]\nroot = {tmp_path / 'lake1'}\n" + FAKESTORE_ONLY
    proc = luigi_cli(["RangeDaily", "--of", "RunAll", "--start", "2026-11-17", "--stop", "2026-11-20",
                      "--now", str(NOW), "--local-scheduler"], single, tmp_path, name="single.cfg")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert mart_checksums(dsns["scaled"]) == mart_checksums(dsns["single"])


def test_prod_config_without_its_environment_names_every_missing_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DSN", "_LANDING", "_URL", "_KEY", "_HOST"))}
    proc = subprocess.run([sys.executable, "-m", "luigi", "--module", "workflows", "RunAll", "--date", str(D)],
                          cwd=tmp_path, env={**env, "LUIGI_CONFIG_PATH": str(REPO / "conf/prod.cfg")},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    missing = set(re.findall(r"nonexisting environment variable (\w+)", proc.stderr))
    needed = set(re.findall(r"\$\{(\w+)\}", (REPO / "conf/prod.cfg").read_text()))
    assert missing == needed
