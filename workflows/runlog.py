"""Run log and failure alerts: Luigi event handlers that append every task run to ``etl.task_runs``
and, when a task has finally failed, post one alert to the ``[alerts] webhook_url``.

Handlers run in the task's own process (a child with ``--workers`` > 1). A run-log
or alert problem is logged, never allowed to change the task's outcome.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket

import luigi
import luigi.configuration
import requests

from workflows import tasklogs, terminal, warehouse
from workflows.config import alerts as alerts_config

log = logging.getLogger("luigi-interface")

_INSERT = """
INSERT INTO etl.task_runs (task_id, task_family, pipeline, entity, ds, started_at, seconds, status,
                           rows_in, rows_out, rows_quarantined, error, host, pid, log_key)
VALUES (%(task_id)s, %(family)s, %(pipeline)s, %(entity)s, %(ds)s, %(started_at)s, %(seconds)s, %(status)s,
        %(rows_in)s, %(rows_out)s, %(rows_quarantined)s, %(error)s, %(host)s, %(pid)s, %(log_key)s)
"""
_FAILURES = """
SELECT count(*) FROM etl.task_runs
 WHERE task_id = %s AND status = 'failed' AND finished_at > clock_timestamp() - make_interval(secs => %s)
"""


def _record(task: luigi.Task, status: str, error: str | None) -> None:
    started = getattr(task, "_run_started", None)
    now = dt.datetime.now(dt.timezone.utc)
    rows = getattr(task, "run_rows", {})
    params = task.param_kwargs
    row = {
        "task_id": task.task_id, "family": task.task_family, "pipeline": params.get("pipeline"),
        "entity": params.get("entity") or params.get("mart"), "ds": params.get("date"),
        "started_at": started, "seconds": (now - started).total_seconds() if started else None,
        "status": status, "rows_in": rows.get("in"), "rows_out": rows.get("out"),
        "rows_quarantined": rows.get("quarantined"), "error": error, "host": socket.gethostname(), "pid": os.getpid(),
        "log_key": tasklogs.written_key(task),
    }
    with warehouse.transaction() as cur:
        cur.execute(_INSERT, row)


def final_failure(task: luigi.Task) -> bool:
    """True when the scheduler will not retry this task: no keep-alive worker, or the failures
    inside the retry window reached the retry count (Luigi's own retry policy)."""
    cfg = luigi.configuration.get_config()
    if not cfg.getboolean("worker", "keep_alive", False):
        return True
    retry_count = getattr(task, "retry_count", None) or cfg.getint("scheduler", "retry_count", 999999999)
    window = getattr(task, "disable_window", None) or cfg.getint("scheduler", "disable_window", 3600)
    with warehouse.shared().cursor() as cur:
        cur.execute(_FAILURES, (task.task_id, window))
        return cur.fetchone()[0] >= retry_count


def alert_text(task: luigi.Task, exception: BaseException) -> str:
    params = task.param_kwargs
    where = [f"`make status` / etl.task_runs (task_id {task.task_id})"]
    if alerts_config().scheduler_url:
        where.insert(0, f"{alerts_config().scheduler_url.rstrip('/')}/static/visualiser/index.html#search__search={task.task_id}")
    if tasklogs.written_key(task):
        where.insert(0, f"task log {tasklogs.lake_path(tasklogs.written_key(task))}")
    if task.task_family == "Check":
        where.append(f"the DQ report reports/dq/ds={params.get('date')}/")
    return "\n".join([
        f":rotating_light: {task.task_family} failed",
        f"pipeline: {params.get('pipeline', '-')}  task: {task.task_id}  date: {params.get('date', '-')}",
        f"error: {type(exception).__name__}: {str(exception).strip()[:1500]}",
        "where to look: " + "; ".join(where),
    ])


def send_alert(text: str) -> None:
    url = alerts_config().webhook_url.strip()
    if not url:
        return
    resp = requests.post(url, json={"text": text}, timeout=alerts_config().timeout)
    if resp.status_code >= 300:
        log.error("alert webhook answered HTTP %s: %s", resp.status_code, resp.text[:200])


@luigi.Task.event_handler(luigi.Event.START)
def _started(task: luigi.Task) -> None:
    task._run_started = dt.datetime.now(dt.timezone.utc)
    tasklogs.start(task)


@luigi.Task.event_handler(luigi.Event.SUCCESS)
def _succeeded(task: luigi.Task) -> None:
    if isinstance(task, luigi.WrapperTask):
        return
    tasklogs.finish(task)
    terminal.note(task, "success")
    try:
        _record(task, "success", None)
    except Exception:  # noqa: BLE001 - the run log must not fail a task that succeeded
        log.exception("could not append to etl.task_runs")


@luigi.Task.event_handler(luigi.Event.FAILURE)
def _failed(task: luigi.Task, exception: BaseException) -> None:
    tasklogs.finish(task, exception)
    terminal.note(task, "failed", exception)
    try:
        _record(task, "failed", f"{type(exception).__name__}: {exception}"[:4000])
        final = final_failure(task)
    except Exception:  # noqa: BLE001 - warehouse unreachable: still alert
        log.exception("could not append to etl.task_runs")
        final = True
    if final:
        try:
            send_alert(alert_text(task, exception))
        except Exception:  # noqa: BLE001
            log.exception("could not send the failure alert")
