"""Task logs in the lake: one file per task run at logs/<pipeline>/<family>/ds=<ds>/<run id>.log,
linked from etl.task_runs, the failure alert and the DQ report's About sheet; no secret in any."""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import luigi
import openpyxl

from workflows import layout
from tests.conftest import luigi_settings
from workflows import DQReport, RunAll

D = dt.date(2026, 11, 20)
PASSWORD, TOKEN, KEY = "pw-S3cr3t-9f2c41", "T0KEN-abc123xyz987", "pseudo-K3y-77aa0b"
log = logging.getLogger("luigi-interface")


class Hook(BaseHTTPRequestHandler):
    posts: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        type(self).posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class LeakyTask(luigi.Task):
    """A task that logs every secret it can reach, then fails with one in its error."""

    date = luigi.DateParameter()
    pipeline = luigi.Parameter(default="fakestore")
    dsn = luigi.Parameter(significant=False, visibility=luigi.parameter.ParameterVisibility.PRIVATE)
    webhook = luigi.Parameter(significant=False, visibility=luigi.parameter.ParameterVisibility.PRIVATE)

    def output(self):
        return layout.marker("test/leaky", self.date, "LeakyTask")

    def run(self):
        log.warning("connecting to %s, alerting %s, hashing with %s", self.dsn, self.webhook, KEY)
        log.info("retrying with password=%s", PASSWORD)
        raise RuntimeError(f"could not post to {self.webhook}")


def lake_logs(env) -> dict[str, bytes]:
    if env.s3 is None:
        base = os.path.join(env.lake, "logs")
        keys = [os.path.relpath(os.path.join(d, f), env.lake) for d, _, fs in os.walk(base) for f in fs]
    else:
        client, bucket = env.s3
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="wh/logs/")
        keys = [o["Key"][3:] for page in pages for o in page.get("Contents", [])]
    return {k: env.read_lake(k) for k in keys}


def test_every_run_has_its_log_in_the_lake_without_secrets(env):
    Hook.posts = []
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{hook.server_address[1]}/services/{TOKEN}"
    dsn = env.dsn.replace("postgres:@", f"postgres:{PASSWORD}@")  # the embedded server trusts local sockets
    assert PASSWORD in dsn
    # activity (whose pseudonym key is a secret) on the local lake only, to keep the S3 variant short
    runall = ["fakestore", "activity"] if env.kind == "local" else ["fakestore"]
    settings = {"warehouse": {"dsn": dsn}, "alerts": {"webhook_url": webhook},
                "activity": {"pseudonym_key": KEY}, "runall": {"pipelines": json.dumps(runall)}}
    try:
        with luigi_settings(settings):
            assert luigi.build([RunAll(date=D)], local_scheduler=True, workers=1)
            assert not luigi.build([LeakyTask(date=D, dsn=dsn, webhook=webhook)], local_scheduler=True)
            env.query("DELETE FROM etl.partition_markers WHERE target = 'report/dq' AND ds = %s", (D,))
            assert luigi.build([DQReport(date=D)], local_scheduler=True)
    finally:
        hook.shutdown()

    logs = lake_logs(env)
    runs = env.query("SELECT task_id, task_family, coalesce(pipeline, 'all'), ds, status, log_key FROM etl.task_runs")
    # fakestore 3 Extract, 3 Stage, 3 Load, 3 Audit, 3 MartBuild, 3 Mart, Record, Check, Pack; activity 2 + 2 + 2
    # + 2 Audit, 8 MartBuild, 8 Mart, Record, Check, Export, Pack; DQReport, KPIReport, LeakyTask, DQReport again:
    # one log file per run
    assert len(runs) == {"local": 53, "s3": 25}[env.kind] and len(logs) == len(runs)
    for task_id, family, pipeline, ds, status, key in runs:
        assert re.fullmatch(rf"logs/{pipeline}/{family}/ds={ds}/\d{{8}}T\d{{12}}Z(-[\w.-]+)?-\d+\.log", key), key
        text = logs[key].decode()
        assert text.startswith(f"task {task_id}\n") and f"status {'failed' if status == 'failed' else 'success'}" in text
    stage = next(logs[k].decode() for *_, k in runs if k.startswith("logs/fakestore/Stage/") and "-carts-" in k)
    assert re.search(r"\d+ records -> \d+ rows staged, \d+ quarantined", stage)  # the task's own lines are there

    everything = b"".join(logs.values())
    for secret in (PASSWORD, TOKEN, KEY, webhook):
        assert secret.encode() not in everything, secret

    (leaky_key,) = [k for *_, k in runs if k.startswith("logs/fakestore/LeakyTask/")]
    leaky = logs[leaky_key].decode()
    assert "Traceback" in leaky and "RuntimeError: could not post to ***" in leaky and "password=***" in leaky
    location = f"{env.lake}/{leaky_key}"
    assert len(Hook.posts) == 1 and f"task log {location}" in Hook.posts[0]["text"]

    about = list(openpyxl.load_workbook(io.BytesIO(env.read_lake(f"reports/dq/ds={D}/dq_report_{D}.xlsx")))["About"]
                 .iter_rows(values_only=True))
    header = next(i for i, r in enumerate(about) if r[0] == "task_family")
    table = [dict(zip(about[header], r)) for r in about[header + 1:] if r[0]]
    leaky_row = next(r for r in table if r["task_family"] == "LeakyTask")
    assert leaky_row["logs"] == f"{env.lake}/logs/fakestore/LeakyTask/ds={D}/"
    assert leaky_row["last_failed_log"] == location
    stage_row = next(r for r in table if r["task_family"] == "Stage" and r["pipeline"] == "fakestore")
    assert stage_row["logs"] == f"{env.lake}/logs/fakestore/Stage/ds={D}/" and stage_row["last_failed_log"] is None
