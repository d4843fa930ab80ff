"""Database sources: stream a table's rows changed in [ds, ds+1) (or all rows, on a full load) out of a
PostgreSQL source with ``COPY (SELECT …) TO STDOUT`` into a CSV in the raw lake, read-only, in UTC.

The CSV is staged by the one staging engine against the table's JSON Schema, like any CSV drop.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
from typing import Iterator

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from workflows import warehouse
from workflows.declarations import Entity, Pipeline, Table
from workflows.landing.errors import SourceError


@contextlib.contextmanager
def reading(dsn: str, what: str) -> Iterator[psycopg2.extensions.cursor]:
    """A read-only UTC/ISO session on the source (errors name ``what``, never the DSN)."""
    try:
        conn = psycopg2.connect(dsn, application_name="luigi-warehouse-extract")
    except psycopg2.OperationalError as exc:
        raise SourceError(f"cannot connect to the source database of {what}: {exc}".strip()) from None
    try:
        conn.set_session(readonly=True)
        with conn, conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3")
            yield cur
    except psycopg2.Error as exc:
        raise SourceError(f"reading {what} failed: {exc}".strip()) from None
    finally:
        conn.close()


# ── extract: COPY … TO STDOUT into the raw lake ────────────────────────────────

def is_first_load(pipeline: str, entity: str, ds: dt.date) -> bool:
    """True when no earlier ds of this entity has been loaded (so this one loads everything)."""
    target = f"load/{pipeline}/{entity}"
    with warehouse.shared().cursor() as cur:
        cur.execute("SELECT NOT EXISTS (SELECT 1 FROM etl.partition_markers WHERE target = %s AND ds < %s)",
                    (target, ds))
        return cur.fetchone()[0]


def window(ds: dt.date, full: bool) -> tuple[dt.datetime | None, dt.datetime]:
    """The watermark window: [ds, ds+1), or everything before ds+1 on a full load."""
    start = dt.datetime.combine(ds, dt.time())
    return (None if full else start), start + dt.timedelta(days=1)


def extract_query(table: str, watermark: str, ds: dt.date, full: bool) -> tuple[sql.Composed, dict]:
    """``COPY (SELECT * … watermark window) TO STDOUT`` as CSV with a header, and its parameters."""
    start, end = window(ds, full)
    schema, _, name = table.partition(".")
    cond = sql.SQL("{w} < %(end)s") if full else sql.SQL("{w} >= %(start)s AND {w} < %(end)s")
    query = sql.SQL("COPY (SELECT * FROM {t} WHERE {c}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
        t=sql.Identifier(schema, name), c=cond.format(w=sql.Identifier(watermark)))
    return query, {"start": start, "end": end}


def land_table(dsn: str, entity: Entity, ds: dt.date, path: str, watermark: str, full: bool) -> dict:
    """Stream ``entity``'s source rows of the window into CSV file ``path``; return the file's meta."""
    started = dt.datetime.now(dt.timezone.utc)
    table: Table = entity.source
    query, params = extract_query(table.table, watermark, ds, full)
    with reading(dsn, table.table) as cur, open(path, "wb") as f:
        cur.copy_expert(cur.mogrify(query, params).decode(), f, size=1 << 20)
        rows = cur.rowcount
    with open(path, newline="", encoding="utf-8") as f:
        fields = next(csv.reader(f), [])
    start, end = window(ds, full)
    return {
        "source_table": table.table, "mode": "full" if full else "incremental", "record_count": rows,
        "fields": fields, "watermark": {"column": watermark, "from": start and start.isoformat(), "to": end.isoformat()},
        "pid": os.getpid(), "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }


def land(pipeline: Pipeline, entity: Entity, ds: dt.date, path: str) -> dict:
    """Land ``entity``'s rows changed in [ds, ds+1); everything before ds+1 on the entity's first
    load or when the pipeline's ``full_refresh`` is set."""
    full = bool(getattr(pipeline.settings(), "full_refresh", False)) or is_first_load(pipeline.name, entity.name, ds)
    return land_table(pipeline.source_dsn(ds), entity, ds, path, entity.source.watermark, full)
