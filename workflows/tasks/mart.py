"""Mart: staging partitions -> ``mart.<table>`` by the set-based SQL file the declaration names.

The SQL merges (INSERT … ON CONFLICT / DELETE of vanished keys) for one ds and
only updates rows whose values differ, so a re-run changes nothing. Each file
ends with a SELECT of the mart's row count for ds, stored in the marker. SQL
and marker commit in one transaction.
"""
from __future__ import annotations

from workflows import layout, warehouse
from workflows.tasks.base import MartTask
from workflows.tasks.load import Load


class Mart(MartTask):
    """Refresh one mart table for ds."""

    def requires(self):
        return [Load(date=self.date, pipeline=self.pipeline, entity=e) for e in self.mart_decl.entities]

    def output(self):
        return layout.marker(f"mart/{self.pipeline}/{self.mart}", self.date, "Mart")

    def run(self):
        statement = warehouse.read_sql(self.mart_decl.sql)
        with warehouse.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"mart/{self.pipeline}/{self.mart}",))
            cur.execute(statement, {"ds": self.date})
            rows = cur.fetchone()[0]  # each mart file ends by counting the ds's rows
            self.output().write(cur, rows)
        self.report(f"mart.{self.mart}: {rows} rows for ds", 100, out=rows)
