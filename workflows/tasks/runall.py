"""RunAll(date): every pipeline's loads, marts, views, exports and checks, the DQ and KPI reports and the
deliverables packs, for one ds.

Complete when all their markers exist. ``complete`` and ``bulk_complete`` answer from
``etl.partition_markers`` in one query, so ``RangeDaily --of RunAll`` decides a long range quickly.
"""
from __future__ import annotations

import luigi

from targets import completed_dates
from workflows import pipelines, warehouse
from workflows.tasks.check import Check
from workflows.tasks.pack import deliverables
from workflows.tasks.publish import published
from workflows.tasks.report import DQReport


class RunAll(luigi.WrapperTask):
    """Everything every enabled pipeline publishes for ``date``, their checks, and the DQ report."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")

    @property
    def priority(self) -> int:
        """Older dates first: the scheduler passes a task's priority on to its dependencies, so a
        backfill runs each date's tasks before a later date's (history checks, the Trend sheet)."""
        return 10_000_000 - self.date.toordinal()

    def requires(self):
        enabled = pipelines.enabled()
        tasks = [t for p in enabled for t in published(p, self.date)]
        tasks += [Check(date=self.date, pipeline=p.name) for p in enabled]
        return tasks + [DQReport(date=self.date)] + deliverables(self.date)

    def marker_targets(self) -> list[str]:
        return [task.output().target for task in self.requires()]

    def complete(self) -> bool:
        return self.date in completed_dates(warehouse.shared(), self.marker_targets(), [self.date])

    @classmethod
    def bulk_complete(cls, parameter_tuples):
        dates = list(parameter_tuples)
        if not dates:
            return []
        done = completed_dates(warehouse.shared(), cls(dates[0]).marker_targets(), dates)
        return [d for d in dates if d in done]
