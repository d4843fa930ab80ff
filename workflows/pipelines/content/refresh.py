"""RefreshDailySummary(date): after both content marts of ds, refresh ``mart.daily_summary`` with its marker."""
from __future__ import annotations

import luigi

from targets import PartitionMarker
from workflows import warehouse
from workflows.base import PipelineTask
from workflows.mart import Mart

REFRESH_SQL = "content/refresh_daily_summary.sql"


class RefreshDailySummary(PipelineTask):
    """REFRESH MATERIALIZED VIEW CONCURRENTLY mart.daily_summary once the pipeline's marts hold ds."""

    pipeline = luigi.Parameter(default="content", description="Pipeline whose marts the view joins")

    def requires(self):
        return [Mart(date=self.date, pipeline=self.pipeline, mart=m) for m in self.decl.marts]

    def output(self):
        return PartitionMarker(f"mart/{self.pipeline}/daily_summary", self.date, "Refresh")

    def run(self):
        with warehouse.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("mart.daily_summary",))
            cur.execute(warehouse.read_sql(REFRESH_SQL), {"ds": self.date})
            rows = cur.fetchone()[0]  # the summary's rows for ds
            self.output().write(cur, rows)
        self.report(f"mart.daily_summary refreshed: {rows} rows for {self.date}", 100, out=rows)
