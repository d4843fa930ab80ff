"""What ``luigi --module workflows …`` prints: a line per entity (extract, stage, load), per pipeline
(audits, marts, views, export, gate) and per day's reports, each printed when the last of its tasks
finishes, and a line of its own, at once, for a failed task or an audit with a check that did not
pass; a closing table per pipeline; one-line errors with documented exit codes (README, "Exit
codes"). Luigi's full log goes to a file per run (``[cli] log_dir``), and to the terminal too with
``--verbose``. The central scheduler (the visualizer) names tasks ``<pipeline>.<entity|mart>.<Task>``.

``install()`` (called when the module is imported by the ``luigi`` command) wraps
``luigi.interface._run``: it sets up logging, refuses a bad command line before anything is
scheduled, runs with a worker that reports each task as it finishes, then prints the table.
Task processes (``--workers N``) append what they did to a per-run events file
(``note``, from the run-log event handlers); the parent prints it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import luigi
import luigi.execution_summary
import luigi.interface
import luigi.retcodes
import luigi.rpc
import luigi.worker
from luigi.cmdline_parser import CmdlineParser
from luigi.scheduler import DONE, FAILED, PENDING
from luigi.setup_logging import InterfaceLogging
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from workflows import config

EVENTS_ENV = "WAREHOUSE_TERMINAL_EVENTS"

# exit codes beside Luigi's [retcode] ones (README, "Exit codes")
EXIT_USAGE = 2          # a setting or the command line is wrong
EXIT_WAREHOUSE = 3      # the warehouse cannot be reached (or the embedded server cannot start)
EXIT_SCHEDULER = 4      # the central scheduler (luigid) cannot be reached

log = logging.getLogger("luigi-interface")
_original_run = luigi.interface._run


class UsageError(Exception):
    """A mistake on the command line: one line, exit code 2."""


# ── task processes: what each finished task did ───────────────────────────────

def note(task: luigi.Task, status: str, exception: BaseException | None = None) -> None:
    """Append one finished task to this run's events file (no-op outside a ``luigi`` command run)."""
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    started = getattr(task, "_run_started", None)
    seconds = (dt.datetime.now(dt.timezone.utc) - started).total_seconds() if started else None
    event = {"task_id": task.task_id, "status": status, "rows": getattr(task, "run_rows", {}) or {},
             "seconds": seconds}
    if exception is not None:
        event["error"] = one_line(exception)
        event["error_type"] = type(exception).__name__
    try:
        with open(path, "a", encoding="utf-8") as f:  # O_APPEND: one short line per write, whole
            f.write(json.dumps(event, default=str) + "\n")
    except OSError:
        pass


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message's first line, with the class name unless it is ours."""
    text = (str(exc).strip().splitlines() or [""])[0]
    ours = type(exc).__module__.startswith(("workflows", "targets", "reports"))
    if ours or type(exc) in (RuntimeError, ValueError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_events(path: str, offset: int, into: dict) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            f.seek(offset)
            for line in f:
                if line.endswith("\n"):
                    event = json.loads(line)
                    into[event["task_id"]] = event
                    offset += len(line.encode("utf-8"))
    except OSError:
        pass
    return offset


# ── the run: counts, lines, table ─────────────────────────────────────────────

@dataclass
class Run:
    console: Console
    log_file: Path | None
    events_path: str
    started: float = field(default_factory=time.monotonic)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    tasks: dict = field(default_factory=dict)       # task_id -> task (every task this worker saw)
    planned: set = field(default_factory=set)       # to run (not wrappers)
    skipped: set = field(default_factory=set)       # complete before the run
    finished: dict = field(default_factory=dict)    # task_id -> DONE | FAILED
    events: dict = field(default_factory=dict)      # task_id -> what the task process noted
    expl: dict = field(default_factory=dict)        # task_id -> Luigi's explanation of a failure
    scheduling_errors: list = field(default_factory=list)
    elsewhere: set = field(default_factory=set)     # to run here, found done at the end: another worker ran it
    settled: int | None = None                      # the exit code ``settle`` found (None: Luigi's)
    groups: dict = field(default_factory=lambda: defaultdict(set))  # a line's group (``group_of``) -> task ids
    waiting: dict = field(default_factory=dict)     # group -> its finished tasks not printed yet
    live_status: bool = False                       # a transient "running …" line (a terminal, not --verbose)
    _live: Live | None = None
    _offset: int = 0
    _several: bool | None = None

    # -- called by the worker --------------------------------------------------
    def scheduled(self, task: luigi.Task, status: str, runnable: bool) -> None:
        self.tasks[task.task_id] = task
        if _is_wrapper(task):
            return
        self.groups[group_of(task)].add(task.task_id)
        if status == DONE:
            self.skipped.add(task.task_id)
        elif status == PENDING and runnable:
            self.planned.add(task.task_id)

    def started_running(self) -> None:
        dates = sorted({d for d in (_date(t) for t in self.tasks.values()) if d})
        span = f"{dates[0]}" if len(dates) == 1 else f"{dates[0]} … {dates[-1]} ({len(dates)} dates)" if dates else ""
        what = (f": {_plural(len(self.planned), 'task')} to run, {len(self.skipped)} already done" if self.planned
                else ": nothing to run, already done")
        self.console.print(Text.assemble(("luigi-warehouse ", "bold"), span, what
                                         + (f" · log {_short(self.log_file)}" if self.log_file else "")))
        if self.live_status and self.planned:
            # the lines below fold several tasks each: say what runs meanwhile, on a line that goes away
            self._live = Live(Spinner("dots", style="dim"), console=self.console, transient=True,
                              refresh_per_second=4, redirect_stdout=False, redirect_stderr=False)
            self._live.start()

    def running(self, task: luigi.Task) -> None:
        """A task starts: the transient line names it (no-op without one)."""
        if self._live is None or _is_wrapper(task):
            return
        what = " ".join(x for x in (task.param_kwargs.get("pipeline"), _name(task), task.task_family) if x)
        self._live.update(Spinner("dots", Text(f"[{len(self.finished)}/{len(self.planned)}] running {what}",
                                               style="dim"), style="dim"))

    def stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def finished_task(self, task: luigi.Task, status: str, expl: str | None) -> None:
        """A failure is printed at once (one line, and its error under it); a success waits until every
        task of its group that this run planned has finished, then the group prints as one line."""
        if _is_wrapper(task):
            return
        self.finished[task.task_id] = status
        self.planned.add(task.task_id)
        if expl:
            self.expl[task.task_id] = expl
        self._offset = _read_events(self.events_path, self._offset, self.events)
        key = group_of(task)
        if status != DONE:
            self.console.print(self._line([task], ok=False))
            return
        if _warned(self.events.get(task.task_id, {}), task):
            self.console.print(self._line([task], ok=True, warn=True))  # a warning: a line of its own, now
        self.waiting.setdefault(key, []).append(task)
        if all(t in self.finished for t in self.groups[key] if t in self.planned):
            self.console.print(self._line(self.waiting.pop(key), ok=True))

    def flush(self) -> None:
        """Print the groups cut short (a task of theirs failed, or was left to another worker)."""
        for key in list(self.waiting):
            self.console.print(self._line(self.waiting.pop(key), ok=True))

    # -- rendering ---------------------------------------------------------------
    def _line(self, tasks: list, ok: bool, warn: bool = False) -> Text:
        """One line: progress, ✓/✗, [date,] pipeline, entity / marts / reports, the steps, rows, seconds."""
        first = tasks[0]
        width = len(str(len(self.planned)))
        line = Text()
        line.append(f"[{len(self.finished):>{width}}/{len(self.planned)}] ", style="dim")  # dim: the counter only
        line.append("! " if warn else "✓ " if ok else "✗ ", style="yellow" if warn else "green" if ok else "bold red")
        if self.several_dates():
            line.append(f"{str(_date(first) or ''):<10} ")
        pipeline = first.param_kwargs.get("pipeline") or ("(reports)" if group_of(first)[0] == "reports" else "-")
        line.append(f"{pipeline:<9} {_what(tasks):<27} {_steps(tasks):<15} ")
        cells = _cells(tasks, [self.events.get(t.task_id, {}) for t in tasks])
        cells.pad_right(max(0, 44 - len(cells)))
        line.append(cells)
        seconds = [self.events.get(t.task_id, {}).get("seconds") for t in tasks]
        if any(s is not None for s in seconds):
            line.append(f" {sum(s or 0 for s in seconds):6.1f} s", style="dim")
        if not ok:
            line.append(f"\n      {self.failure(first.task_id)}", style="red")
        return line

    def several_dates(self) -> bool:
        if self._several is None:
            self._several = len({_date(t) for t in self.tasks.values()} - {None}) > 1
        return self._several

    def failure(self, task_id: str) -> str:
        event = self.events.get(task_id, {})
        if event.get("error"):
            return event["error"]
        lines = [x for x in (self.expl.get(task_id) or "").strip().splitlines() if x.strip()]
        return lines[-1].strip() if lines else "failed (see the log)"

    def settle(self, worker) -> None:
        """Ask again, at the end, about the tasks this worker scheduled but neither ran nor saw fail.

        With a central scheduler and several workers, a task one worker scheduled is often run by
        another between two of its requests for work; Luigi's summary then files it as "not granted
        run permission" (exit 25, ``not_run``), or "run by another worker" (exit 10) when it happened
        to see it running, though the work is done. A task whose ``complete()`` now holds was done by
        another worker (``elsewhere``); when every such task is complete and nothing failed or is
        missing, the run's exit code is 0 (10 when this worker ran nothing: all of it ran elsewhere).
        A task still not complete stays not run (Luigi's exit code)."""
        sets = luigi.execution_summary._summary_dict(worker)
        history = worker._add_task_history
        root = history[0][0] if history else None
        open_ = sets["not_run"] | sets["run_by_other_worker"] | sets["upstream_run_by_other_worker"]
        if root is not None and root not in sets["completed"] | sets["already_done"]:
            open_.add(root)
        blocked = any(sets[k] for k in ("still_pending_ext", "failed", "scheduling_error", "upstream_failure",
                                        "upstream_missing_dependency", "upstream_scheduling_error"))
        if not open_ or blocked or self.scheduling_errors:
            return
        done = {t.task_id for t in open_ if _complete_now(t)}
        self.elsewhere = {t for t in done if t in self.tasks and not _is_wrapper(self.tasks[t])}
        if len(done) == len(open_):
            ran_here = any(s == DONE for s in self.finished.values())
            self.settled = 0 if ran_here else luigi.retcodes.retcode().already_running

    def not_run(self) -> list[str]:
        """Tasks this run planned that neither finished here nor were found done by another worker."""
        return [t for t in self.planned if t not in self.finished and t not in self.elsewhere]

    def summary(self, result) -> None:
        self.stop_live()
        self._offset = _read_events(self.events_path, self._offset, self.events)
        self.flush()
        worker = result.worker
        self.settle(worker)
        pipelines: dict[str, dict] = defaultdict(lambda: defaultdict(int))
        for task_id, task in self.tasks.items():
            if _is_wrapper(task):
                continue
            row = pipelines[task.param_kwargs.get("pipeline") or "(reports)"]
            state = self.finished.get(task_id)
            if state == DONE:
                row["done"] += 1
            elif state == FAILED:
                row["failed"] += 1
            elif task_id in self.skipped:
                row["skipped"] += 1
            elif task_id in self.elsewhere:
                row["other worker"] += 1
            else:
                row["not run"] += 1
            rows = self.events.get(task_id, {}).get("rows") or {}
            if task.task_family == "Load" and rows.get("out"):
                row["rows"] += rows["out"]
            if task.task_family == "Stage" and rows.get("quarantined"):
                row["quarantined"] += rows["quarantined"]
        dates = sorted({d for d in (_date(t) for t in self.tasks.values()) if d})
        quality = _quality(dates, list(pipelines))
        table = Table(title=None, show_edge=False, header_style="bold", pad_edge=False)
        other = bool(self.elsewhere)  # a column for tasks another worker ran, when there are any
        for col in ("pipeline", "done", "failed", "skipped") + (("other worker",) if other else ()) + (
                "not run", "rows loaded", "quarantined", "checks pass/warn/fail", "held back"):
            table.add_column(col, justify="left" if col == "pipeline" else "right")
        for name in sorted(pipelines, key=lambda n: (n.startswith("("), n)):
            row, q = pipelines[name], quality.get(name, {})
            checks = f"{q.get('pass', 0)}/{q.get('warn', 0)}/{q.get('fail', 0)}" if q else "-"
            table.add_row(name, str(row["done"]), _red(row["failed"]), str(row["skipped"]),
                          *((str(row["other worker"]),) if other else ()), _red(row["not run"]),
                          f"{row['rows']:,}", _yellow(row["quarantined"]), checks,
                          _red(q.get("held", 0)) if q else "-")
        self.console.print()
        if pipelines:
            self.console.print(table)
        for message in self.scheduling_messages():
            self.console.print(Text(f"error: {message}", style="bold red"))
        reports = _reports(dates, worker)
        written = [t for t, task in self.tasks.items() if task.task_family == "DQReport"
                   and (self.finished.get(t) == DONE or t in self.skipped)]
        if reports and not written and not _is_wrapper_only(self.tasks):
            reports = "not written (a task it needs did not finish)"
        if reports:
            self.console.print(Text.assemble(("DQ report: ", "bold"), reports))
        elapsed = time.monotonic() - self.started
        failed = sum(1 for s in self.finished.values() if s == FAILED)
        not_run = self.not_run()
        verdict = (Text(f"FAILED: {_plural(failed, 'task')} failed", style="bold red") if failed
                   else Text("scheduling error", style="bold red") if self.scheduling_errors
                   else Text(f"NOT DONE: {_plural(len(not_run), 'task')} not run", style="bold red") if not_run
                   else Text("OK", style="bold green"))
        elsewhere = f", {len(self.elsewhere)} by another worker" if self.elsewhere else ""
        verdict.append(f" · {len(self.finished)} run{elsewhere}, {len(self.skipped)} already done, {elapsed:.1f} s",
                       style="default")
        if self.log_file:
            verdict.append(f" · log {_short(self.log_file)}", style="dim")
        self.console.print(verdict)

    def scheduling_messages(self) -> list[str]:
        seen: list[str] = []
        for task, exc in self.scheduling_errors:
            message = f"{task.task_family}: {one_line(exc)}"
            if message not in seen:
                seen.append(message)
        return seen

    def exit_code(self) -> int | None:
        """An exit code of ours that overrides Luigi's, or None (Luigi's [retcode] logic)."""
        if any(_is_unreachable(exc) for _, exc in self.scheduling_errors):
            return EXIT_WAREHOUSE
        failed = [t for t, s in self.finished.items() if s == FAILED]
        if failed and all(self.events.get(t, {}).get("error_type") == "DropMissing" for t in failed):
            return luigi.retcodes.retcode().missing_data
        return self.settled


def _complete_now(task: luigi.Task) -> bool:
    try:
        return bool(task.complete())
    except Exception:  # noqa: BLE001 - a complete() that raises now: not done (Luigi's code stands)
        log.exception("complete() of %s raised while the run was summed up", task.task_id)
        return False


def _is_wrapper_only(tasks: dict) -> bool:
    return all(_is_wrapper(t) for t in tasks.values())


def _is_wrapper(task: luigi.Task) -> bool:
    return isinstance(task, luigi.WrapperTask)


def _date(task: luigi.Task):
    value = task.param_kwargs.get("date")
    return value if isinstance(value, dt.date) else None


def _name(task: luigi.Task) -> str:
    params = task.param_kwargs
    return str(params.get("entity") or params.get("mart") or params.get("view") or "")


# ── groups: one line per entity, per pipeline's marts and checks, per day's reports ──

ENTITY_STEPS = ("Extract", "Stage", "Load")                                             # one line per entity
PIPELINE_STEPS = ("Audit", "MartBuild", "Mart", "Refresh", "Export", "Record", "Check")  # one line per pipeline
REPORT_STEPS = ("DQReport", "KPIReport", "Pack")                                         # one line per day
_ORDER = {f: i for i, f in enumerate(ENTITY_STEPS + PIPELINE_STEPS + REPORT_STEPS)}


def group_of(task: luigi.Task) -> tuple:
    """The line a finished task is folded into: (date, pipeline, entity) for an entity's extract,
    stage and load, (date, pipeline) for a pipeline's audits, marts, views, export and checks,
    (date,) for the day's reports and packs; any other task is a line of its own."""
    family, params = task.task_family, task.param_kwargs
    if family in ENTITY_STEPS and params.get("entity"):
        return ("entity", _date(task), params.get("pipeline"), params["entity"])
    if family in PIPELINE_STEPS and params.get("pipeline"):
        return ("pipeline", _date(task), params["pipeline"])
    if family in REPORT_STEPS:
        return ("reports", _date(task))
    return ("task", task.task_id)


def _steps(tasks: list) -> str:
    """The steps a line folds: ``Extract→Audit``, or the one task's family."""
    families = sorted({t.task_family for t in tasks}, key=lambda f: _ORDER.get(f, -1))
    return families[0] if len(families) == 1 else f"{families[0]}→{families[-1]}"


def _what(tasks: list) -> str:
    """The line's subject: the entity (or mart, view), or what a pipeline's / the day's line holds."""
    kind = group_of(tasks[0])[0]
    if kind in ("entity", "task") or len(tasks) == 1 and kind != "reports" and _name(tasks[0]):
        return _name(tasks[0])
    if kind == "pipeline":
        marts = {t.param_kwargs["mart"] for t in tasks if "mart" in t.param_kwargs}
        views = {t.param_kwargs["view"] for t in tasks if "view" in t.param_kwargs}
        parts = [_plural(len(marts), "mart")] if marts else []
        parts += [_plural(len(views), "view")] if views else []
        parts += [f.lower() for f in ("Export", "Check") if any(t.task_family == f for t in tasks)]
        return ", ".join(parts)
    packs = sum(t.task_family == "Pack" for t in tasks)
    parts = [n for f, n in (("DQReport", "DQ report"), ("KPIReport", "KPI report")) if any(t.task_family == f for t in tasks)]
    if len(parts) == 2:
        parts = ["DQ + KPI reports"]
    return ", ".join(parts + ([_plural(packs, "pack")] if packs else []))


def _cells(tasks: list, events: list[dict]) -> Text:
    """Rows of a line: in (what the first data step read), out (what the last one wrote),
    quarantined, and the entity's checks passed / run (yellow when not all passed)."""
    rows = {t.task_family: e.get("rows") or {} for t, e in zip(tasks, events)}
    data = [f for f in sorted(rows, key=lambda f: _ORDER.get(f, -1)) if f != "Audit"]
    cells = Text()

    def add(text: str, warn: bool = False) -> None:
        if cells:
            cells.append(" · ")
        cells.append(text, style="yellow" if warn else "")

    if group_of(tasks[0])[0] in ("pipeline", "reports") and len(tasks) > 1:
        made = [(e.get("rows") or {}).get("out") or 0 for t, e in zip(tasks, events)
                if t.task_family in ("MartBuild", "Refresh")]  # mart and view rows for ds
        if made:
            add(f"out {sum(made):,}")
        audits = [e.get("rows") or {} for t, e in zip(tasks, events) if t.task_family == "Audit"]
        if audits:
            passed, run = sum(a.get("out") or 0 for a in audits), sum(a.get("in") or 0 for a in audits)
            add(f"entity checks {passed:,}/{run:,} passed", warn=passed < run)
        return cells
    first_in = next((rows[f]["in"] for f in data if rows[f].get("in") is not None), None)
    if first_in is None and rows.get("Extract", {}).get("out") is not None and len(data) > 1:
        first_in = rows["Extract"]["out"]
    last_out = next((rows[f]["out"] for f in reversed(data) if rows[f].get("out") is not None), None)
    quarantined = [rows[f]["quarantined"] for f in data if rows[f].get("quarantined") is not None]
    if first_in is not None:
        add(f"in {first_in:,}")
    if last_out is not None:
        add(f"out {last_out:,}")
    if quarantined:
        add(f"quarantined {sum(quarantined):,}", warn=sum(quarantined) > 0)
    audit = rows.get("Audit") or {}
    if audit.get("in") is not None:
        add(f"checks {audit.get('out') or 0}/{audit['in']} passed", warn=(audit.get("out") or 0) < audit["in"])
    return cells


def _warned(event: dict, task: luigi.Task) -> bool:
    """An entity audit with a check that did not pass (a warning, or a failure that holds back marts)."""
    rows = event.get("rows") or {}
    return task.task_family == "Audit" and rows.get("in") is not None and (rows.get("out") or 0) < rows["in"]


def visual_family(task: luigi.Task) -> str:
    """The name the central scheduler (and so the visualizer's graph and task list) shows for a task:
    ``<pipeline>.<entity|mart|view>.<Task>`` or ``<pipeline>.<Task>``; a task without a pipeline keeps
    its family. Task ids, etl.task_runs, markers and the command line keep the task's family."""
    params = task.param_kwargs
    pipeline = params.get("pipeline")
    if not isinstance(pipeline, str) or not pipeline:
        return task.task_family
    scope = _name(task)
    return f"{pipeline}.{scope}.{task.task_family}" if scope else f"{pipeline}.{task.task_family}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _short(path: Path | str) -> str:
    return str(path)  # absolute: the same whatever the working directory


def _red(n: int) -> Text:
    return Text(str(n), style="bold red" if n else "")


def _yellow(n: int) -> Text:
    return Text(f"{n:,}", style="yellow" if n else "")


def _is_unreachable(exc: BaseException) -> bool:
    text = str(exc)
    return "cannot connect to the warehouse" in text or type(exc).__name__ == "EmbeddedServerError"


_QUALITY = """
SELECT r.pipeline, r.status, count(*)
  FROM etl.dq_results r JOIN etl.dq_latest_runs l USING (ds, pipeline, run_id)
 WHERE r.ds = ANY(%(dates)s) AND r.pipeline = ANY(%(pipelines)s)
 GROUP BY 1, 2
"""
_HELD = """
SELECT pipeline, count(*) FROM etl.dq_decisions
 WHERE ds = ANY(%(dates)s) AND pipeline = ANY(%(pipelines)s) AND step = 'mart'
   AND outcome IN ('held_back', 'rolled_back')
 GROUP BY 1
"""


def _quality(dates: list, pipelines: list[str]) -> dict[str, dict]:
    """Per pipeline: the current check results of these dates (pass/warn/fail) and the marts held back."""
    if not dates:
        return {}
    out: dict[str, dict] = {p: {"pass": 0, "warn": 0, "fail": 0, "held": 0} for p in pipelines if p[0] != "("}
    try:
        from workflows import warehouse

        with warehouse.shared().cursor() as cur:
            args = {"dates": dates, "pipelines": list(out)}
            cur.execute(_QUALITY, args)
            for pipeline, status, n in cur.fetchall():
                out[pipeline]["fail" if status == "error" else status] += n
            cur.execute(_HELD, args)
            for pipeline, n in cur.fetchall():
                out[pipeline]["held"] = n
            cur.connection.rollback()
    except Exception:  # noqa: BLE001 - the table is a courtesy: never fail a run over it
        log.debug("no quality summary", exc_info=True)
        return {}
    return out


def _reports(dates: list, worker) -> str:
    """The DQ report's path (one date) or folder and range (several), when the run covered it."""
    families = {t.task_family for t in worker._scheduled_tasks.values()}
    if "DQReport" not in families or not dates:
        return ""
    from workflows import layout

    first = layout.report(dates[0]).path
    if len(dates) == 1:
        return _short(first)
    return f"{_short(os.path.dirname(os.path.dirname(first)))}/ds=<date>/ ({dates[0]} … {dates[-1]})"


# ── the worker: tells the run what happens ────────────────────────────────────

class TerminalWorker(luigi.worker.Worker):
    def __init__(self, *args, run: Run, **kwargs):
        super().__init__(*args, **kwargs)
        self._terminal = run
        self._terminal_running = False

    def _add_task(self, *args, **kwargs):
        task = self._scheduled_tasks.get(kwargs.get("task_id"))
        if task is not None and kwargs.get("family"):
            kwargs["family"] = visual_family(task)  # the visualizer names pipeline and entity / mart
        super()._add_task(*args, **kwargs)
        if task is None:
            return
        status = kwargs.get("status")
        if self._terminal_running and task.task_id in self._running_tasks and status in (DONE, FAILED):
            expl = kwargs.get("expl")
            self._terminal.finished_task(task, status, json.loads(expl) if expl and status == FAILED else None)
        elif not self._terminal_running or task.task_id not in self._running_tasks:
            self._terminal.scheduled(task, status, bool(kwargs.get("runnable")))

    def _log_complete_error(self, task, tb):
        self._terminal.scheduling_errors.append((task, sys.exc_info()[1] or RuntimeError("complete() failed")))
        super()._log_complete_error(task, tb)

    def _log_dependency_error(self, task, tb):
        self._terminal.scheduling_errors.append((task, sys.exc_info()[1] or RuntimeError("requires() failed")))
        super()._log_dependency_error(task, tb)

    def _log_unexpected_error(self, task):
        self._terminal.scheduling_errors.append((task, sys.exc_info()[1] or RuntimeError("unexpected error")))
        super()._log_unexpected_error(task)

    def _run_task(self, task_id):
        task = self._scheduled_tasks.get(task_id)
        if task is not None and task_id not in self._running_tasks:
            self._terminal.running(task)
        return super()._run_task(task_id)

    def run(self):
        self._terminal_running = True
        self._terminal.started_running()
        return super().run()


class Factory(luigi.interface._WorkerSchedulerFactory):
    def __init__(self, run: Run):
        self.run = run

    def create_worker(self, scheduler, worker_processes, assistant=False):
        return TerminalWorker(scheduler=scheduler, worker_processes=worker_processes, assistant=assistant,
                              run=self.run)


# ── logging ────────────────────────────────────────────────────────────────────

def _setup_logging(env, opts) -> Path | None:
    """Luigi's log to <log_dir>/luigi-<UTC time>-<pid>.log (and stderr with --verbose); None when the
    user configured logging (--logging-conf-file, a [logging] section, no_configure_logging)."""
    cfg = luigi.configuration.get_config()
    if env.logging_conf_file or cfg.has_section("logging") or cfg.getboolean("core", "no_configure_logging", False):
        return None
    level = getattr(logging, str(env.log_level).upper(), logging.DEBUG)
    folder = Path(opts.log_dir)
    path = None
    root = logging.getLogger()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"luigi-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(level)
        root.addHandler(handler)
        latest = folder / "latest.log"
        if latest.is_symlink() or not latest.exists():
            latest.unlink(missing_ok=True)
            latest.symlink_to(path.name)
    except OSError as exc:
        print(f"warning: cannot write the run log in {folder}: {exc}", file=sys.stderr)
    if opts.verbose:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        stream.setLevel(level)
        root.addHandler(stream)
    root.setLevel(min(level, logging.INFO) if path else level)
    logging.getLogger("luigi-interface").setLevel(level)
    logging.getLogger("luigi").setLevel(level)
    logging.captureWarnings(True)
    InterfaceLogging._configured = True  # Luigi adds no stderr handler of its own
    return path


# ── the wrapped entry point ────────────────────────────────────────────────────

def _fail(console: Console, message: str, code: int, verbose: bool = False) -> None:
    if verbose:
        log.exception(message)
    console.print(Text(f"error: {message}", style="bold red"))
    sys.exit(code)


def check_task(task: luigi.Task) -> None:
    """Refuse a root task naming an unknown pipeline, entity or mart, or a future date: UsageError."""
    from workflows import pipelines

    params = task.param_kwargs
    if params.get("pipeline"):  # empty: not given (Rerun's optional --pipeline / --entity / --mart)
        decl = pipelines.get(params["pipeline"])
        if params.get("entity"):
            decl.entity(params["entity"])
        if params.get("mart"):
            decl.mart(params["mart"])
    date = _date(task)
    if date is not None and (problem := config.future_date_problem(date)):
        raise UsageError(problem)


def _run(cmdline_args=None, main_task_cls=None, worker_scheduler_factory=None, use_dynamic_argparse=None,
         local_scheduler=False, detailed_summary=False):
    if main_task_cls or worker_scheduler_factory or local_scheduler or not isinstance(cmdline_args, (list, tuple)):
        return _original_run(cmdline_args, main_task_cls, worker_scheduler_factory, use_dynamic_argparse,
                             local_scheduler, detailed_summary)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=True, highlight=False, soft_wrap=True, width=120)
    with CmdlineParser.global_instance(list(cmdline_args)) as cp:
        opts, env = config.cli(), luigi.interface.core()
        log_file = _setup_logging(env, opts)
        try:
            task = cp.get_task_obj()
        except Exception as exc:  # noqa: BLE001 - a parameter that does not parse (a bad date …)
            _fail(console, f"{cp._get_task_cls().task_family}: {_param_error(exc)}", EXIT_USAGE, opts.verbose)
        try:
            check_task(task)
        except (UsageError, ValueError) as exc:
            _fail(console, str(exc), EXIT_USAGE, opts.verbose)
        try:
            from workflows import warehouse

            warehouse.shared()
        except Exception as exc:  # noqa: BLE001 - unreachable warehouse, embedded server that cannot start
            _fail(console, one_line(exc), EXIT_WAREHOUSE, opts.verbose)
        events = tempfile.NamedTemporaryFile(prefix="luigi-warehouse-events-", suffix=".jsonl", delete=False)
        events.close()
        os.environ[EVENTS_ENV] = events.name
        run = Run(console=console, log_file=log_file, events_path=events.name,
                  live_status=console.is_terminal and not opts.verbose)
        try:
            result = luigi.interface._schedule_and_run([task], Factory(run))
        except luigi.interface.PidLockAlreadyTakenExit:
            console.print(Text("error: this command is already running in another process (luigi's pid lock; "
                               "--no-lock to run anyway)", style="bold red"))
            raise
        except luigi.rpc.RPCError as exc:
            url = env.scheduler_url or f"http://{env.scheduler_host}:{env.scheduler_port}/"
            _fail(console, f"cannot reach the central scheduler at {url} (start it with `make scheduler`, "
                           f"or run with --local-scheduler): {one_line(exc)}", EXIT_SCHEDULER, opts.verbose)
        except SystemExit:
            raise
        except Exception as exc:  # noqa: BLE001
            log.exception("unexpected error")
            _fail(console, f"unexpected error: {one_line(exc)} (traceback in {log_file or 'the log'})",
                  luigi.retcodes.retcode().unhandled_exception)
        finally:
            run.stop_live()
            os.environ.pop(EVENTS_ENV, None)
        run.summary(result)
        os.unlink(events.name)
        code = run.exit_code()
        if code is not None:
            sys.exit(code)
        return result


def _param_error(exc: BaseException) -> str:
    text = one_line(exc)
    if "does not match format '%Y-%m-%d'" in text or "unconverted data remains" in text:
        return f"not a date (YYYY-MM-DD): {text.split(chr(39))[1] if chr(39) in text else text}"
    return text


def _excepthook(kind, exc, tb):
    """Errors before our entry point (an unknown task name): one line, exit code 2."""
    from luigi.task_register import TaskClassNotFoundException

    if issubclass(kind, TaskClassNotFoundException) and not config.cli().verbose:
        import workflows

        name = str(exc).split("No task ")[-1].split(".")[0].strip()
        print(f"error: unknown task {name!r} (tasks: {', '.join(workflows.__all__)})", file=sys.stderr)
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(EXIT_USAGE)
    sys.__excepthook__(kind, exc, tb)


def install() -> None:
    """Route the ``luigi`` command through this module (idempotent)."""
    luigi.interface._run = _run
    sys.excepthook = _excepthook
