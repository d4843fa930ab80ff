"""Refresh(date, pipeline, view): after the pipeline's marts of ds, refresh one materialized view with its marker."""
from __future__ import annotations

import luigi

from workflows import layout, warehouse
from workflows.declarations import View
from workflows.tasks.base import PipelineTask, input_targets
from workflows.tasks.mart import Mart


class Refresh(PipelineTask):
    """REFRESH MATERIALIZED VIEW (the view's SQL file) once the pipeline's marts hold ds."""

    view = luigi.Parameter(description="View name within the pipeline, e.g. daily_summary")

    @property
    def view_decl(self) -> View:
        try:
            return next(v for v in self.decl.views if v.name == self.view)
        except StopIteration:
            known = ", ".join(v.name for v in self.decl.views) or "none"
            raise ValueError(f"pipeline {self.pipeline!r} has no view {self.view!r}; known: {known}") from None

    def requires(self):
        return [Mart(date=self.date, pipeline=self.pipeline, mart=m) for m in self.decl.marts]

    def output(self):
        return layout.marker(f"mart/{self.pipeline}/{self.view}", self.date, "Refresh", lambda: input_targets(self))

    def run(self):
        with warehouse.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"view/{self.pipeline}/{self.view}",))
            cur.execute(warehouse.read_sql(self.view_decl.sql), {"ds": self.date})
            rows = cur.fetchone()[0]  # the view's rows for ds
            self.output().write(cur, rows)
        self.report(f"{self.view} refreshed: {rows} rows for {self.date}", 100, out=rows)
