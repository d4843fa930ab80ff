"""The terminal's lines: what is folded into one line, when it prints, and the scheduler's names."""
from __future__ import annotations

import datetime as dt
import io
import json

import luigi
import luigi.execution_summary
import luigi.scheduler
import luigi.worker
import pytest
from luigi.scheduler import DONE, FAILED, PENDING
from rich.console import Console

from workflows import DQReport, Extract, KPIReport, Load, Mart, Pack, Refresh, Stage
from workflows.tasks.audit import Audit
from workflows.tasks.check import Check
from workflows.terminal import Run, TerminalWorker, group_of, visual_family

D = dt.date(2026, 11, 20)


def make_run(tmp_path, tasks, events: dict) -> tuple[Run, io.StringIO]:
    """A Run that has scheduled ``tasks`` (all to run), with the events the task processes noted."""
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({"task_id": t.task_id, "status": "done", "rows": rows, "seconds": 0.5}) + "\n"
                            for t, rows in events.items()))
    out = io.StringIO()
    run = Run(console=Console(file=out, width=200, color_system=None), log_file=None, events_path=str(path))
    for task in tasks:
        run.scheduled(task, PENDING, True)
    return run, out


def test_scheduler_names_carry_pipeline_and_entity_or_mart():
    assert visual_family(Load(date=D, pipeline="fakestore", entity="carts")) == "fakestore.carts.Load"
    assert visual_family(Mart(date=D, pipeline="fakestore", mart="fact_sales")) == "fakestore.fact_sales.Mart"
    assert visual_family(Refresh(date=D, pipeline="content", view="daily_summary")) == "content.daily_summary.Refresh"
    assert visual_family(Check(date=D, pipeline="fakestore")) == "fakestore.Check"
    assert visual_family(DQReport(date=D)) == "DQReport"
    # the task's own family and id are untouched
    load = Load(date=D, pipeline="fakestore", entity="carts")
    assert load.task_family == "Load" and load.task_id.startswith("Load_")


def test_groups_fold_an_entity_a_pipeline_and_the_reports():
    carts = [t(date=D, pipeline="fakestore", entity="carts") for t in (Extract, Stage, Load)]
    assert {group_of(t) for t in carts} == {("entity", D, "fakestore", "carts")}
    pipeline = [Audit(date=D, pipeline="fakestore", entity="carts"), Mart(date=D, pipeline="fakestore", mart="dim_user"),
                Check(date=D, pipeline="fakestore")]
    assert {group_of(t) for t in pipeline} == {("pipeline", D, "fakestore")}
    assert {group_of(t) for t in (DQReport(date=D), KPIReport(date=D), Pack(date=D, pipeline="fakestore"))} == {
        ("reports", D)}


def test_an_entity_prints_one_line_when_its_last_step_finishes(tmp_path):
    extract, stage, load = (t(date=D, pipeline="fakestore", entity="carts") for t in (Extract, Stage, Load))
    run, out = make_run(tmp_path, [extract, stage, load], {
        extract: {"out": 10}, stage: {"in": 10, "out": 31, "quarantined": 2}, load: {"in": 31, "out": 31}})
    run.finished_task(extract, DONE, None)
    run.finished_task(stage, DONE, None)
    assert out.getvalue() == ""
    run.finished_task(load, DONE, None)
    (line,) = out.getvalue().splitlines()
    assert line.startswith("[3/3] ✓ fakestore carts ")
    assert "Extract→Load" in line and "in 10 · out 31 · quarantined 2" in line and line.endswith("1.5 s")


def test_a_failure_and_an_audit_warning_print_at_once_and_cut_groups_flush(tmp_path):
    extract, stage = (t(date=D, pipeline="fakestore", entity="users") for t in (Extract, Stage))
    audit = Audit(date=D, pipeline="fakestore", entity="carts")
    check = Check(date=D, pipeline="fakestore")
    run, out = make_run(tmp_path, [extract, stage, audit, check], {extract: {"out": 10}, audit: {"in": 13, "out": 12}})
    run.finished_task(extract, DONE, None)
    run.finished_task(audit, DONE, None)  # 12 of 13 checks passed: a line of its own, now
    run.finished_task(stage, FAILED, "Traceback …\nValueError: boom\n")  # Luigi's explanation
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[2/4] ! fakestore carts ") and "checks 12/13 passed" in lines[0]
    assert lines[1].startswith("[3/4] ✗ fakestore users ") and "Stage" in lines[1]
    assert lines[2].strip() == "ValueError: boom"  # no error noted by the task process: the explanation's last line
    run.flush()  # the summary prints what a failure left waiting: users' extract, the pipeline's audit
    flushed = out.getvalue().splitlines()[3:]
    assert len(flushed) == 2
    assert any(x.startswith("[3/4] ✓ fakestore users ") and "Extract " in x and "out 10" in x for x in flushed)
    assert any(x.startswith("[3/4] ✓ fakestore carts ") and "Audit" in x for x in flushed)


def test_optional_pipeline_entity_and_mart_are_checked_only_when_given():
    from workflows import Rerun
    from workflows.terminal import check_task

    check_task(Rerun(date=D, pipeline="fakestore"))  # no --entity / --mart: nothing to check (it used to refuse)
    check_task(Rerun(date=D))
    with pytest.raises(ValueError, match="pipeline 'fakestore' has no entity 'nope'; known: carts, products, users"):
        check_task(Rerun(date=D, pipeline="fakestore", entity="nope"))
    with pytest.raises(ValueError, match="unknown pipeline 'nope'"):
        check_task(Load(date=D, pipeline="nope", entity="carts"))


def test_on_a_terminal_a_transient_line_names_the_running_task(tmp_path):
    extract, load = (t(date=D, pipeline="fakestore", entity="carts") for t in (Extract, Load))
    out = io.StringIO()
    (tmp_path / "events.jsonl").write_text("")
    run = Run(console=Console(file=out, width=200, force_terminal=True, color_system="standard"), log_file=None,
              events_path=str(tmp_path / "events.jsonl"), live_status=True)
    run.scheduled(extract, PENDING, True)
    run.scheduled(load, PENDING, True)
    run.started_running()
    run.running(load)
    run._live.refresh()
    run.finished_task(extract, DONE, None)
    run.finished_task(load, DONE, None)
    run.stop_live()
    text = out.getvalue()
    assert "[0/2] running fakestore carts Load" in text
    assert "\x1b[2K" in text  # the transient line is erased before the task's line is printed
    assert "fakestore carts" in text and run._live is None


# ── two workers on one scheduler: what the other ran is not "not run" ────────────

class Written(luigi.Task):
    """A file made by whichever worker runs the task."""
    path = luigi.Parameter()

    def output(self):
        return luigi.LocalTarget(self.path)

    def run(self):
        with self.output().open("w") as f:
            f.write(self.path)


class Files(luigi.WrapperTask):
    folder = luigi.Parameter()
    n = luigi.IntParameter(default=3)

    def requires(self):
        return [Written(path=f"{self.folder}/{i}") for i in range(self.n)]


def terminal_worker(scheduler, tmp_path, name: str) -> tuple[TerminalWorker, Run, io.StringIO]:
    out = io.StringIO()
    events = tmp_path / f"{name}.events"
    events.write_text("")
    run = Run(console=Console(file=out, width=200, color_system=None), log_file=None, events_path=str(events))
    return TerminalWorker(scheduler=scheduler, worker_id=name, run=run), run, out


@pytest.mark.parametrize("ran_here", [0, 1])
def test_tasks_another_worker_ran_between_polls_settle_the_exit_code(tmp_path, ran_here):
    scheduler = luigi.scheduler.Scheduler()
    root = Files(folder=str(tmp_path / "out"))
    a, run, out = terminal_worker(scheduler, tmp_path, "a")
    with a:
        assert a.add(root)  # a schedules the three files and the wrapper, all pending
        if ran_here:  # a runs one file first (as its run() would: the terminal counts it)
            a._terminal_running = True
            a._run_task(a._get_work().task_id)
            a._handle_next_task()
        with luigi.worker.Worker(scheduler=scheduler, worker_id="b") as b:
            assert b.add(root) and b.run()  # b runs the rest before a asks for work again
        a.run()
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert made == ["0", "1", "2"]
    # Luigi's own summary files what b ran as "not granted run permission" (exit code 25)
    assert luigi.execution_summary._summary_dict(a)["not_run"]
    run.summary(luigi.execution_summary.LuigiRunResult(a, True))
    assert len(run.elsewhere) == 3 - ran_here
    assert run.exit_code() == (0 if ran_here else 10)
    verdict = out.getvalue().splitlines()[-1]
    assert verdict.startswith(f"OK · {ran_here} run, {3 - ran_here} by another worker, 0 already done")


def test_a_task_nobody_ran_is_not_run_and_not_ok(tmp_path):
    scheduler = luigi.scheduler.Scheduler()
    root = Files(folder=str(tmp_path / "out"))
    a, run, out = terminal_worker(scheduler, tmp_path, "a")
    with a:
        assert a.add(root)
        a._terminal_running = True  # as in run(): a runs one file, then stops asking for work
        a._run_task(a._get_work().task_id)
        a._handle_next_task()
    run.summary(luigi.execution_summary.LuigiRunResult(a, False))
    assert run.elsewhere == set() and len(run.not_run()) == 2
    assert run.exit_code() is None  # Luigi's code stands: 25, not run
    verdict = out.getvalue().splitlines()[-1]
    assert verdict.startswith("NOT DONE: 2 tasks not run · 1 run, 0 already done")
