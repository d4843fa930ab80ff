"""Export: the ds's rows of every mart of a pipeline as JSON files under ``exports/<pipeline>/ds=<ds>/``.

A mart row's ds is its ``ds`` column, or for an event-date mart without one (content's) the first
date column of its primary key.

One ``<mart>.json`` per mart (``{pipeline, mart, ds, columns, records, row_count}``,
records in primary-key order, streamed from a server-side cursor), then
``manifest.json`` listing them, then the partition marker: a consumer that sees
the manifest sees complete files. Read in one REPEATABLE READ snapshot; files
are rewritten whole and hold no timestamps, so a re-run writes the same bytes.

Late rows: a pipeline whose files change other dates' mart rows declares ``export_dates`` (SQL
answering those dates for ds). Export for ds then also rewrites, in the same snapshot, the files
and manifest of each of those dates whose export exists (a manifest in the lake), so no export in
the lake is behind its mart once the run that changed it is green. The snapshot is taken after
the pipeline's export lock (``export/<pipeline>``): of two exports writing one date's files, the
later writer holds the later snapshot. The other dates' markers are left as they are: their
files are what their own Export would write now (docs/late-events.md).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
from typing import Any, Iterator, TextIO

from psycopg2 import sql

from workflows import layout, warehouse
from workflows.declarations import Pipeline
from workflows.tasks.base import PipelineTask, input_targets
from workflows.tasks.mart import Mart

FETCH_ROWS = 10_000


def _json_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def primary_key(cur, table: str) -> list[str]:
    """Primary-key columns of ``mart.<table>``, in key order (the export's row order)."""
    cur.execute(warehouse.read_sql("exports/primary_key.sql"), {"table": f"mart.{table}"})
    return [name for (name,) in cur.fetchall()]


def date_column(cur, table: str) -> str:
    """The column whose value is the ds of a ``mart.<table>`` row: ``ds``, else the first date
    column of the primary key (an event-date mart)."""
    cur.execute(warehouse.read_sql("exports/date_column.sql"), {"table": f"mart.{table}"})
    row = cur.fetchone()
    if row is None:
        raise ValueError(f"mart.{table} has no ds column and no date column in its primary key: it cannot be exported")
    return row[0]


def mart_query(cur, table: str) -> sql.Composed:
    """``mart.<table>``'s rows of one date (``%(ds)s``), in primary-key order (read from the catalog)."""
    return sql.SQL("SELECT * FROM {} WHERE {} = %(ds)s ORDER BY {}").format(
        sql.Identifier("mart", table), sql.Identifier(date_column(cur, table)),
        sql.SQL(", ").join(map(sql.Identifier, primary_key(cur, table))))


def write_mart(cur, pipeline: str, table: str, query: sql.Composed, ds: dt.date, out: TextIO) -> int:
    """Stream the rows ``query`` (``mart_query``) gives for ds into ``out`` as one JSON document; return
    the row count."""
    count = 0
    with cur.connection.cursor(name=f"export_{table}") as rows:
        rows.execute(query, {"ds": ds})
        batch = rows.fetchmany(FETCH_ROWS)  # a named cursor knows its columns after the first fetch
        columns = [c.name for c in rows.description]
        head = json.dumps({"pipeline": pipeline, "mart": table, "ds": str(ds), "columns": columns})
        out.write(head[:-1] + ', "records": [')
        while batch:
            for row in batch:
                out.write(("\n" if count == 0 else ",\n") + json.dumps(dict(zip(columns, row)), default=_json_value))
                count += 1
            batch = rows.fetchmany(FETCH_ROWS)
    out.write(f'\n], "row_count": {count}}}\n')
    return count


def export_marts(pipeline: str, queries: dict[str, sql.Composed], ds: dt.date, cur) -> int:
    """Write every mart's file (``queries``: mart -> its ``mart_query``), then the manifest; return the
    total rows exported."""
    files = []
    for table, query in queries.items():
        target = layout.export(pipeline, ds, f"{table}.json")
        with target.writing() as path, open(path, "w", encoding="utf-8") as out:
            count = write_mart(cur, pipeline, table, query, ds, out)
        files.append({"mart": table, "file": f"{table}.json", "row_count": count})
    manifest = {"pipeline": pipeline, "ds": str(ds), "files": files}
    layout.export(pipeline, ds, "manifest.json").write_bytes(json.dumps(manifest, indent=1).encode())
    return sum(f["row_count"] for f in files)


def other_dates(decl: Pipeline, ds: dt.date, cur) -> list[dt.date]:
    """The dates other than ds whose mart rows the files of ds changed (``export_dates``) and whose
    export exists; [] for a pipeline without the declaration."""
    if decl.export_dates is None:
        return []
    cur.execute(warehouse.read_sql(decl.export_dates), {"ds": ds})
    dates = sorted({d for (d,) in cur.fetchall()} - {ds})
    return [d for d in dates if layout.export(decl.name, d, "manifest.json").exists()]


@contextlib.contextmanager
def snapshot(lock: str | None) -> Iterator[Any]:
    """A REPEATABLE READ transaction whose snapshot is taken after the session advisory lock
    ``lock`` (None: no lock); closing the connection releases the lock."""
    conn = warehouse.connect()
    try:
        if lock is not None:
            conn.autocommit = True  # the lock's statement must not take the transaction's snapshot
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (lock,))
            conn.autocommit = False
        with conn, conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield cur
    finally:
        conn.close()


class Export(PipelineTask):
    """Every mart of the pipeline for ds -> JSON files in the lake (and, with ``export_dates``, the
    existing exports of the other dates ds's files changed); a marker after the files."""

    def requires(self):
        return [Mart(date=self.date, pipeline=self.pipeline, mart=m) for m in self.decl.marts]

    def output(self):
        return layout.marker(f"export/{self.pipeline}", self.date, "Export", lambda: input_targets(self))

    def run(self):
        lock = f"export/{self.pipeline}" if self.decl.export_dates else None
        with snapshot(lock) as cur:
            queries = {m: mart_query(cur, m) for m in self.decl.marts}  # the catalog once, for every date
            rows = export_marts(self.pipeline, queries, self.date, cur)
            others = other_dates(self.decl, self.date, cur)
            for ds in others:
                export_marts(self.pipeline, queries, ds, cur)
            self.output().write(cur, rows)
        also = f"; rewritten for the late rows: ds={', '.join(map(str, others))}" if others else ""
        self.report(f"{rows} rows exported to exports/{self.pipeline}/ds={self.date}/{also}", 100)
