"""Database sources: stream a table's rows changed in ``[ds - lag, ds + 1)`` (or all rows, on a full
load) out of a PostgreSQL source with ``COPY (SELECT …) TO STDOUT`` into a CSV in the raw lake,
read-only, in UTC, in one REPEATABLE READ snapshot (docs/incremental.md).

- **Look-back**: the window starts ``lag`` days before ds (the table's ``lag``, else ``[incremental]
  lag_days``), so a row committed late but within the lag arrives; staging merges are idempotent, so
  re-reading rows changes nothing.
- **Full or incremental is explicit and recorded**: ``etl.source_loads`` holds one row per extract;
  a table's first full load is *claimed* there (``is_initial``) under an advisory lock, in the
  warehouse transaction that commits after the file is landed. A table without a claim gets a full
  load, the claim's own ds is full again when re-run, ``full_refresh`` forces one; every other ds is
  incremental, whatever other dates' markers say. A parallel backfill thus runs one full load per table.
- **NULL watermarks**: a full load lands them; an incremental one counts them as skipped
  (``null_watermarks_skipped``, checked by the entity's checks).
- **Deletes**: with ``deletes="snapshot"`` the same snapshot also lands the table's keys
  (``<entity>.csv.keys.csv``), stored as the table's current key set in ``staging.source_keys``;
  library's marts flag mirror rows whose key it lacks, bikes' Loads flag staging rows
  (``staging.mark_deleted``) and its marts remove facts and close dimension members. Any other
  policy is refused with one line (a soft-delete column is not implemented yet).

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

from workflows import layout, warehouse
from workflows.config import incremental
from workflows.declarations import Entity, Pipeline, Table
from workflows.landing.errors import SourceError


@contextlib.contextmanager
def reading(dsn: str, what: str) -> Iterator[psycopg2.extensions.cursor]:
    """A read-only REPEATABLE READ UTC/ISO session on the source (one snapshot for every statement;
    errors name ``what``, never the DSN)."""
    try:
        conn = psycopg2.connect(dsn, application_name="luigi-warehouse-extract")
    except psycopg2.OperationalError as exc:
        raise SourceError(f"cannot connect to the source database of {what}: {exc}".strip()) from None
    try:
        conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
        with conn, conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3")
            yield cur
    except psycopg2.Error as exc:
        raise SourceError(f"reading {what} failed: {exc}".strip()) from None
    finally:
        conn.close()


# ── the window ─────────────────────────────────────────────────────────────────

def lag_days(table: Table) -> int:
    """The table's declared look-back, or the ``[incremental] lag_days`` setting."""
    return table.lag if table.lag is not None else int(incremental().lag_days)


def window(ds: dt.date, full: bool, lag: int = 0) -> tuple[dt.datetime | None, dt.datetime]:
    """The watermark window: [ds - lag, ds + 1), or everything before ds+1 on a full load."""
    start = dt.datetime.combine(ds, dt.time())
    return (None if full else start - dt.timedelta(days=lag)), start + dt.timedelta(days=1)


def extract_query(table: str, watermark: str, ds: dt.date, full: bool, lag: int = 0) -> tuple[sql.Composed, dict]:
    """``COPY (SELECT * … watermark window) TO STDOUT`` as CSV with a header, and its parameters.
    A full load also lands the rows whose watermark is NULL."""
    start, end = window(ds, full, lag)
    schema, _, name = table.partition(".")
    cond = (sql.SQL("({w} < %(end)s OR {w} IS NULL)") if full
            else sql.SQL("{w} >= %(start)s AND {w} < %(end)s"))
    query = sql.SQL("COPY (SELECT * FROM {t} WHERE {c}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
        t=sql.Identifier(schema, name), c=cond.format(w=sql.Identifier(watermark)))
    return query, {"start": start, "end": end}


def land_table(dsn: str, entity: Entity, ds: dt.date, path: str, watermark: str, full: bool, lag: int = 0,
               keys_path: str | None = None) -> dict:
    """Stream ``entity``'s source rows of the window into CSV file ``path`` (and, given ``keys_path``,
    every key of the table into that CSV, from the same snapshot); return the file's meta."""
    started = dt.datetime.now(dt.timezone.utc)
    table: Table = entity.source
    query, params = extract_query(table.table, watermark, ds, full, lag)
    schema, _, name = table.table.partition(".")
    ident = sql.Identifier(schema, name)
    keys = None
    with reading(dsn, table.table) as cur:
        with open(path, "wb") as f:
            cur.copy_expert(cur.mogrify(query, params).decode(), f, size=1 << 20)
            rows = cur.rowcount
        cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE {} IS NULL").format(ident, sql.Identifier(watermark)))
        nulls = cur.fetchone()[0]
        if keys_path is not None:
            copy_keys = sql.SQL("COPY (SELECT {k} FROM {t}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(
                k=sql.SQL(", ").join(map(sql.Identifier, entity.key)), t=ident)
            with open(keys_path, "wb") as f:
                cur.copy_expert(copy_keys.as_string(cur), f, size=1 << 20)
                keys = cur.rowcount
    with open(path, newline="", encoding="utf-8") as f:
        fields = next(csv.reader(f), [])
    start, end = window(ds, full, lag)
    return {
        "source_table": table.table, "mode": "full" if full else "incremental", "record_count": rows,
        "fields": fields, "lag_days": 0 if full else lag,
        "watermark": {"column": watermark, "from": start and start.isoformat(), "to": end.isoformat()},
        "null_watermarks": nulls, "null_watermarks_skipped": 0 if full else nulls, "snapshot_keys": keys,
        "pid": os.getpid(), "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }


# ── deletes: the key snapshot, kept in the warehouse ──────────────────────────

def store_snapshot(cur, pipeline: Pipeline, entity: Entity, ds: dt.date, keys_path: str) -> int:
    """Replace the table's key snapshot in ``staging.source_keys`` (keys as text arrays, in key order)
    with the landed one, by COPY, and record its ds in ``etl.source_snapshots``. Every extract of the
    table replaces it (under the table's lock), so it is never older than any row landed: the marts
    flag warehouse rows whose key it lacks. Returns the keys stored."""
    cols = [sql.Identifier(k) for k in entity.key]
    cur.execute(sql.SQL("CREATE TEMP TABLE snapshot_keys ({}) ON COMMIT DROP").format(
        sql.SQL(", ").join(sql.SQL("{} text").format(c) for c in cols)))
    with open(keys_path, "rb") as f:
        cur.copy_expert(sql.SQL("COPY snapshot_keys FROM STDIN WITH (FORMAT csv, HEADER true)").as_string(cur), f)
    names = (pipeline.name, entity.name)
    cur.execute("DELETE FROM staging.source_keys WHERE pipeline = %s AND entity = %s", names)
    cur.execute(sql.SQL("INSERT INTO staging.source_keys (pipeline, entity, key) "
                        "SELECT %s, %s, ARRAY[{}] FROM snapshot_keys").format(sql.SQL(", ").join(cols)), names)
    stored = cur.rowcount
    cur.execute("""INSERT INTO etl.source_snapshots (pipeline, entity, ds, keys) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (pipeline, entity) DO UPDATE
                      SET ds = EXCLUDED.ds, keys = EXCLUDED.keys, taken_at = clock_timestamp()""",
                (*names, ds, stored))
    return stored


# ── init vs incremental: claimed in etl.source_loads ───────────────────────────

def decide(cur, pipeline: Pipeline, entity: Entity, ds: dt.date) -> tuple[bool, bool, str]:
    """(full, is_initial, reason) for this extract, under the table's advisory lock (held by the
    caller's transaction until the extract is recorded)."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"etl.source_loads/{pipeline.name}/{entity.name}",))
    cur.execute("SELECT ds FROM etl.source_loads WHERE pipeline = %s AND entity = %s AND is_initial",
                (pipeline.name, entity.name))
    claim = cur.fetchone()
    if claim is None:
        return True, True, "initial"
    if claim[0] == ds:
        return True, True, "reload_initial"
    if getattr(pipeline.settings(), "full_refresh", False):
        return True, False, "full_refresh"
    return False, False, "incremental"


def land(pipeline: Pipeline, entity: Entity, ds: dt.date, path: str) -> dict:
    """Land ``entity``'s rows of ``[ds - lag, ds + 1)``, or every row on a full load (decided and
    recorded in ``etl.source_loads``); with a key-snapshot delete policy, the table's keys beside it."""
    table: Table = entity.source
    if table.deletes not in (None, "snapshot"):  # a soft-delete column is not a policy yet
        raise SourceError(f"{pipeline.name}.{entity.name}: delete policy {table.deletes!r} is not supported "
                          "(use deletes='snapshot', or None)")
    lag = lag_days(table)
    with warehouse.transaction() as cur:
        full, initial, reason = decide(cur, pipeline, entity, ds)
        dsn = pipeline.source_dsn(ds)
        if table.deletes == "snapshot":
            keys_target = layout.raw(pipeline.name, entity.name, ds, f"{entity.raw_filename}.keys.csv")
            with keys_target.writing() as keys_path:
                meta = land_table(dsn, entity, ds, path, table.watermark, full, lag, keys_path)
                store_snapshot(cur, pipeline, entity, ds, keys_path)
        else:
            meta = land_table(dsn, entity, ds, path, table.watermark, full, lag)
        start, end = window(ds, full, lag)
        cur.execute(
            """INSERT INTO etl.source_loads AS s (pipeline, entity, ds, mode, is_initial, reason, window_from,
                                                 window_to, rows, null_watermarks, null_watermarks_skipped,
                                                 snapshot_keys)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (pipeline, entity, ds) DO UPDATE
                  SET mode = EXCLUDED.mode, is_initial = EXCLUDED.is_initial, reason = EXCLUDED.reason,
                      window_from = EXCLUDED.window_from, window_to = EXCLUDED.window_to, rows = EXCLUDED.rows,
                      null_watermarks = EXCLUDED.null_watermarks,
                      null_watermarks_skipped = EXCLUDED.null_watermarks_skipped,
                      snapshot_keys = EXCLUDED.snapshot_keys, extracted_at = clock_timestamp()""",
            (pipeline.name, entity.name, ds, meta["mode"], initial, reason,
             start and start.replace(tzinfo=dt.timezone.utc), end.replace(tzinfo=dt.timezone.utc),
             meta["record_count"], meta["null_watermarks"], meta["null_watermarks_skipped"], meta["snapshot_keys"]))
    return {**meta, "reason": reason}
