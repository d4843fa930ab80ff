"""Postgres partition markers: ``etl.partition_markers`` rows written with the data they mark.

A marker is (target, ds) -> rows, finished_at. ``write`` runs inside the
caller's transaction, so data and marker commit (or roll back) together, and an
upsert means re-running a partition replaces the marker with its data.
``completed_dates`` answers completeness for many targets and dates in one query.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable

import luigi


_UPSERT = """
INSERT INTO etl.partition_markers (target, ds, task_family, rows, finished_at)
VALUES (%s, %s, %s, %s, clock_timestamp())
ON CONFLICT (target, ds) DO UPDATE
   SET task_family = EXCLUDED.task_family, rows = EXCLUDED.rows, finished_at = EXCLUDED.finished_at
"""

_COMPLETED = """
SELECT ds
  FROM etl.partition_markers
 WHERE target = ANY(%s) AND ds = ANY(%s)
 GROUP BY ds
HAVING count(DISTINCT target) = %s
"""


class PartitionMarker(luigi.Target):
    """Marks that ``target`` holds the complete partition ``ds``; ``connection()`` gives an
    autocommit connection for reading markers."""

    def __init__(self, target: str, ds: dt.date, task_family: str = "",
                 connection: Callable[[], Any] | None = None):
        self.target = target
        self.ds = ds
        self.task_family = task_family or target.split("/", 1)[0]
        self.connection = connection

    def __repr__(self) -> str:
        return f"PartitionMarker({self.target!r}, {self.ds})"

    def exists(self) -> bool:
        return self.ds in completed_dates(self.connection(), [self.target], [self.ds])

    def write(self, cur, rows: int) -> None:
        """Upsert the marker in the caller's transaction (cursor ``cur``)."""
        cur.execute(_UPSERT, (self.target, self.ds, self.task_family, int(rows)))


def completed_dates(conn, targets: Iterable[str], dates: Iterable[dt.date]) -> set[dt.date]:
    """Dates for which every one of ``targets`` has a marker: one query on ``conn``."""
    targets = sorted(set(targets))
    dates = sorted(set(dates))
    if not targets or not dates:
        return set(dates) if not targets else set()
    with conn.cursor() as cur:
        cur.execute(_COMPLETED, (targets, dates, len(targets)))
        return {row[0] for row in cur.fetchall()}
