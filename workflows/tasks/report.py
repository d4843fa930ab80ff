"""DQReport(date): the day's Excel data-quality workbook once every enabled pipeline is recorded, then its marker.

Requires only the pipelines' ``Record`` steps, which complete whatever the gates decided: the
workbook always covers every enabled pipeline and says which were blocked, and at which step.
Complete while it covers the current records (a pipeline recorded again makes it stale).
"""
from __future__ import annotations

import luigi

from workflows import layout, pipelines, warehouse
from workflows.quality import decisions
from workflows.quality.report_data import report_target, write_report
from workflows.quality.store import new_run_id
from workflows.tasks.base import UpstreamComplete, input_targets, report_status
from workflows.tasks.record import Record


class DQReport(UpstreamComplete, luigi.Task):
    """The Excel DQ report for one ds, after every enabled pipeline's Record."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")

    def requires(self):
        return [Record(date=self.date, pipeline=p.name) for p in pipelines.enabled()]

    def output(self):
        return layout.marker(decisions.target("report", ""), self.date, "DQReport", lambda: input_targets(self))

    def complete(self) -> bool:
        enabled = pipelines.enabled()
        state = decisions.read_state(warehouse.shared(), enabled, self.date)
        return decisions.report_complete(state, enabled)

    def run(self):
        enabled = pipelines.enabled()
        state = decisions.read_state(warehouse.shared(), enabled, self.date)
        data = write_report(self.date)
        with warehouse.transaction() as cur:
            decisions.store(cur, self.date, "", "report", "", new_run_id(), data.status, False,
                            decisions.report_stamp(state, enabled), None, len(data.checks))
            self.output().write(cur, len(data.checks))
        report_status(self, f"{report_target(self.date).path}: {data.status}, {len(data.checks)} checks", 100)
