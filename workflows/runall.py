"""RunAll(date): every pipeline's marts and checks, the DQ report, the KPI report and the packs, for one ds.

Complete when all their markers exist.

``complete`` and ``bulk_complete`` answer from ``etl.partition_markers`` in one
query, so ``RangeDaily --of RunAll`` decides a long range quickly.
"""
from __future__ import annotations

import luigi

from targets import completed_dates
from workflows import pipelines
from workflows.mart import Mart
from workflows.pack import deliverables
from workflows.quality import Check
from workflows.report import DQReport


class RunAll(luigi.WrapperTask):
    """All marts and checks of all pipelines, and the DQ report, for ``date``."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")

    def requires(self):
        enabled = pipelines.enabled()
        tasks = [Mart(date=self.date, pipeline=p.name, mart=m) for p in enabled for m in p.marts]
        for p in enabled:
            if p.extra_tasks is not None:
                tasks.extend(p.extra_tasks(self.date))
        tasks += [Check(date=self.date, pipeline=p.name) for p in enabled]
        return tasks + [DQReport(date=self.date)] + deliverables(self.date)

    def marker_targets(self) -> list[str]:
        return [task.output().target for task in self.requires()]

    def complete(self) -> bool:
        return self.date in completed_dates(self.marker_targets(), [self.date])

    @classmethod
    def bulk_complete(cls, parameter_tuples):
        dates = list(parameter_tuples)
        if not dates:
            return []
        done = completed_dates(cls(dates[0]).marker_targets(), dates)
        return [d for d in dates if d in done]
