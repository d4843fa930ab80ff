"""DQReport(date): the day's Excel data-quality workbook after every pipeline's Check, then its marker."""
from __future__ import annotations

import luigi

from workflows import layout, pipelines, warehouse
from workflows.quality.report_data import report_target, write_report
from workflows.tasks.base import report_status
from workflows.tasks.check import Check


class DQReport(luigi.Task):
    """The Excel DQ report for one ds, after every pipeline's Check."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")

    def requires(self):
        return [Check(date=self.date, pipeline=p.name) for p in pipelines.enabled()]

    def output(self):
        return layout.marker("report/dq", self.date, "DQReport")

    def run(self):
        data = write_report(self.date)
        with warehouse.transaction() as cur:
            self.output().write(cur, len(data.checks))
        report_status(self, f"{report_target(self.date).path}: {len(data.checks)} checks", 100)
