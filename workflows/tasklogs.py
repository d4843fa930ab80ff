"""Task logs in the lake: a task run's log lines -> ``logs/<pipeline>/<task family>/ds=<ds>/<run id>.log``.

``start(task)`` attaches a capturing handler when the task starts (Luigi's START
event); ``finish(task)`` detaches it when the run ends (SUCCESS / FAILURE), masks
secrets in every line and writes the file atomically through ``LakeTarget``
(local rename, or one S3 PUT), so a log outlives the worker that wrote it. Only
records of the thread that runs the task are kept, so with ``--workers 1`` (task
and worker in one process) other threads' lines stay out. The run log
(``etl.task_runs.log_key``), the failure alert and the DQ report's About sheet
link to the file. A log that cannot be written is reported, never fatal.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import luigi
import luigi.configuration
import psycopg2.extensions

from targets import LakeTarget, lake_key
from workflows.config import lake

log = logging.getLogger("luigi-interface")

MAX_LINES = 20_000
MASK = "***"
NO_PIPELINE = "all"  # tasks of the whole day (DQReport, KPIReport)
_SECRET_OPTION = re.compile(r"password|secret|token|_key$|^key$|webhook", re.IGNORECASE)
_URL_OPTION = re.compile(r"dsn|ur[il]$", re.IGNORECASE)
_SECRET_ENV = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|WEBHOOK|_DSN$")
_PATTERNS = (  # secrets of any origin: a URI's password, key=value passwords
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)([^@\s]+)(@)", re.IGNORECASE), rf"\1{MASK}\3"),
    (re.compile(r"(password\s*[=:]\s*)('[^']*'|\"[^\"]*\"|\S+)", re.IGNORECASE), rf"\1{MASK}"),
)


class _UtcFormatter(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's API
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"


_FORMAT = _UtcFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def _url_password(value: str) -> str | None:
    try:
        if "://" in value:
            return urlsplit(value).password
        return psycopg2.extensions.parse_dsn(value).get("password")
    except (ValueError, psycopg2.ProgrammingError):
        return None


def secret_values() -> set[str]:
    """Every secret the configuration and environment hold: whole values of secret-named options
    and variables (passwords, keys, tokens, webhook URLs), and the passwords inside DSNs and URLs."""
    cfg = luigi.configuration.get_config()
    found: set[str] = set()
    for section in cfg.sections():
        for option in cfg.options(section):
            try:
                value = str(cfg.get(section, option)).strip()
            except Exception:  # noqa: BLE001 - e.g. a ${VAR} that is not set: nothing to hide
                continue
            if _SECRET_OPTION.search(option):
                found.add(value)
            if _URL_OPTION.search(option) or "://" in value:
                found.add(_url_password(value) or "")
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name):
            found.add(value.strip())
            found.add(_url_password(value) or "")
    return {s for s in found if len(s) >= 4}


def redact(text: str, secrets: set[str]) -> str:
    """``text`` with every secret value (longest first) and every URI / key=value password masked."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class _Capture(logging.Handler):
    """Keeps the formatted records of one thread."""

    def __init__(self, thread: int):
        super().__init__(logging.DEBUG)
        self.thread = thread
        self.lines: list[str] = []
        self.setFormatter(_FORMAT)

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread or len(self.lines) >= MAX_LINES:
            return
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - logging's own convention
            self.handleError(record)


@dataclass
class _Run:
    key: str
    started: dt.datetime
    handler: _Capture
    loggers: list[logging.Logger] = field(default_factory=list)


def _capture_loggers() -> list[logging.Logger]:
    """The root logger, plus Luigi's loggers when they do not propagate to it."""
    loggers = [logging.getLogger()]
    loggers += [lg for lg in map(logging.getLogger, ("luigi-interface", "luigi")) if not lg.propagate]
    return loggers


def run_key(task: luigi.Task, started: dt.datetime) -> str:
    """``logs/<pipeline>/<family>/ds=<ds>/<run id>.log``; run id = UTC start, entity or mart, pid."""
    params = task.param_kwargs
    detail = re.sub(r"[^A-Za-z0-9_.-]", "_", str(params.get("entity") or params.get("mart") or ""))
    run_id = "-".join(p for p in (started.strftime("%Y%m%dT%H%M%S%fZ"), detail, str(os.getpid())) if p)
    return lake_key("logs", str(params.get("pipeline") or NO_PIPELINE), task.task_family, params.get("date"),
                    f"{run_id}.log")


def start(task: luigi.Task) -> None:
    """Begin capturing ``task``'s log lines (called on Luigi's START event)."""
    if isinstance(task, luigi.WrapperTask):
        return
    _detach(getattr(task, "_tasklog", None))
    task._tasklog_key = None
    started = dt.datetime.now(dt.timezone.utc)
    run = _Run(run_key(task, started), started, _Capture(threading.get_ident()), _capture_loggers())
    for logger in run.loggers:
        logger.addHandler(run.handler)
    task._tasklog = run


def _detach(run: _Run | None) -> None:
    if run is not None:
        for logger in run.loggers:
            logger.removeHandler(run.handler)


def finish(task: luigi.Task, exception: BaseException | None = None) -> str | None:
    """Stop capturing and write the log to the lake; return its key (None if not written)."""
    if isinstance(task, luigi.WrapperTask):
        return None
    run: _Run | None = getattr(task, "_tasklog", None)
    task._tasklog = None
    _detach(run)
    if run is None:  # failed before it started (e.g. unfulfilled dependencies)
        now = dt.datetime.now(dt.timezone.utc)
        run = _Run(run_key(task, now), now, _Capture(threading.get_ident()))
    ended = dt.datetime.now(dt.timezone.utc)
    header = [f"task {task.task_id}", f"host {socket.gethostname()} pid {os.getpid()}",
              f"started {run.started.isoformat()} ended {ended.isoformat()} "
              f"status {'failed' if exception is not None else 'success'}", ""]
    lines = header + run.handler.lines
    if exception is not None and not any("Traceback" in line for line in run.handler.lines):
        lines.append(f"error: {type(exception).__name__}: {exception}")
    text = redact("\n".join(lines) + "\n", secret_values())
    try:
        LakeTarget(run.key, lake().root).write_bytes(text.encode("utf-8"))
    except Exception:  # noqa: BLE001 - a lake problem must not change the task's outcome
        log.exception("could not write the task log %s", run.key)
        return None
    task._tasklog_key = run.key
    return run.key


def written_key(task: luigi.Task) -> str | None:
    """Key of the log ``finish`` wrote for the task's last run, if any."""
    return getattr(task, "_tasklog_key", None)


def lake_path(key: str) -> str:
    """The full lake location of a key (a local path or an s3:// URL)."""
    return f"{lake().root.rstrip('/')}/{key}"
