"""Check(date, pipeline): the pipeline's data-quality gate for ds, after everything it publishes.

Runs and stores every declared check (``workflows.quality.run``); the marker is written with the
results only when no error-severity check failed. On a failure the day's report is rewritten
first, so the owners see why, then the task fails with one line per failing check.
"""
from __future__ import annotations

import logging

from workflows import layout
from workflows.quality.report_data import write_report
from workflows.quality.run import CheckFailed, failure_message, failures, run_checks
from workflows.tasks.base import PipelineTask
from workflows.tasks.publish import published

log = logging.getLogger("luigi-interface")


class Check(PipelineTask):
    """Data-quality gate for one pipeline and ds, after its loads, marts, views and exports."""

    def requires(self):
        return published(self.decl, self.date)

    def output(self):
        return layout.marker(f"check/{self.pipeline}", self.date, "Check")

    def run(self):
        run_id, results = run_checks(self.decl, self.date, self.output())
        counts = {s: sum(r.status == s for r in results) for s in ("pass", "warn", "fail", "error")}
        self.report(f"run {run_id}: " + ", ".join(f"{n} {s}" for s, n in counts.items()), 100,
                    **{"in": len(results), "out": counts["pass"]})
        failed = failures(results)
        if failed:
            try:
                write_report(self.date)
            except Exception:  # noqa: BLE001 - the gate's own failure is the news; a report problem must not hide it
                log.exception("could not write the DQ report for %s", self.date)
            raise CheckFailed(failure_message(self.pipeline, self.date, failed))
