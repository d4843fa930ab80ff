"""Database sources: stream a table's rows changed in [ds, ds+1) (or all rows, on a full load) out of a
PostgreSQL source with ``COPY (SELECT …) TO STDOUT`` into a CSV in the raw lake, and stage that CSV
into typed Parquet by record batches (pyarrow), quarantining rows that break the entity's contract.

A table entity is declared by its JSON Schema (``schemas/<pipeline>/<table>.json``): column names,
JSON types (``format`` date / date-time / local-date-time for temporal columns) and nullability.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import os
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import psycopg2
import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg2 import sql

from workflows.declarations import Column, Entity, load_schema
from workflows.sources import SourceError

TRUE, FALSE = ("t", "true", "1"), ("f", "false", "0")
_ARROW = {"integer": pa.int64(), "number": pa.decimal128(38, 6), "boolean": pa.bool_()}
_FORMATS = {"date": pa.date32(), "date-time": pa.timestamp("us", tz="UTC"), "local-date-time": pa.timestamp("us")}
_PARSE = {"date": dt.date.fromisoformat, "local-date-time": dt.datetime.fromisoformat,
          "date-time": dt.datetime.fromisoformat, "number": lambda v: Decimal(str(v))}


# ── declarations ────────────────────────────────────────────────────────────────

@functools.lru_cache(maxsize=None)
def contract(schema_path: str) -> tuple[tuple[str, pa.DataType, bool, str], ...]:
    """(column, arrow type, nullable, format) per property of a table's JSON Schema, in declared order."""
    schema = load_schema(schema_path)
    out = []
    for name, prop in schema["properties"].items():
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        json_type = next(t for t in types if t != "null")
        fmt = prop.get("format", "")
        out.append((name, _FORMATS.get(fmt, _ARROW.get(json_type, pa.string())), "null" in types, fmt or json_type))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def max_lengths(schema_path: str) -> dict[str, int]:
    """Column -> ``maxLength`` of the string properties that declare one."""
    schema = load_schema(schema_path)
    return {name: prop["maxLength"] for name, prop in schema["properties"].items() if "maxLength" in prop}


def table_entity(pipeline: str, name: str, table: str, key: tuple[str, ...], merge_sql: str | None = None) -> Entity:
    """An entity read from source table ``table`` (schema.table) and landed as ``<name>.csv``;
    its columns are its JSON Schema's properties."""
    schema = f"{pipeline}/{name}.json"
    return Entity(name=name, schema=schema, columns=schema_columns(schema), key=key, endpoint=table, windowed=True,
                  raw_file=f"{name}.csv", stager=stage_csv, merge_sql=merge_sql)


def schema_columns(schema_path: str) -> tuple[Column, ...]:
    """Staged columns of a JSON Schema: same names, arrow types, JSON values parsed by format."""
    return tuple(Column(name, arrow, source=name, parse=_PARSE.get(kind))
                 for name, arrow, _, kind in contract(schema_path))


# ── connections ─────────────────────────────────────────────────────────────────

def sibling_dsn(dsn: str, dbname: str) -> str:
    """The DSN of database ``dbname`` on the same server (and credentials) as ``dsn``."""
    return psycopg2.extensions.make_dsn(**{**psycopg2.extensions.parse_dsn(dsn), "dbname": dbname})


_created: set[tuple[str, str]] = set()


def ensure_database(dsn: str, dbname: str) -> str:
    """Create database ``dbname`` beside ``dsn``'s unless it exists (serialised by an advisory lock
    held on ``dsn``'s database, so concurrent workers do not race); return its DSN."""
    if (dsn, dbname) in _created:
        return sibling_dsn(dsn, dbname)
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"create database {dbname}",))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            cur.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"create database {dbname}",))
    finally:
        conn.close()
    _created.add((dsn, dbname))
    return sibling_dsn(dsn, dbname)


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


# ── generated sources (the demo defaults) ─────────────────────────────────────

_advanced: set[tuple[str, dt.date]] = set()


def advance_generated(dsn: str, sql_dir: Path, name: str, params: dict, ds: dt.date) -> None:
    """Bring the generated source database at ``dsn`` up to day ``ds``, in one transaction under an
    advisory lock: its schema (``<name>_schema.sql``); the first time, the base history before ``ds``
    (``<name>_base.sql``); then each day up to ``ds`` not yet applied, in date order (``<name>_day.sql``).
    A day is applied once (``generator.days``), so re-running any day changes nothing."""
    if (dsn, ds) in _advanced:
        return
    read = lambda suffix: (sql_dir / f"{name}_{suffix}.sql").read_text()  # noqa: E731
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended('generator', 0))")
        cur.execute("SET LOCAL TIME ZONE 'UTC'")
        cur.execute((sql_dir / "generator.sql").read_text())
        cur.execute("SELECT max(ds) FROM generator.days")
        last = cur.fetchone()[0]
        if last is not None and ds <= last:  # nothing to do: no DDL either (it would wait on readers' locks)
            _advanced.add((dsn, ds))
            return
        cur.execute(read("schema"))
        if last is None:
            cur.execute(read("base"), {**params, "opening": ds})
            days = [ds]
        else:
            days = [last + dt.timedelta(days=n) for n in range(1, (ds - last).days + 1)]
        for day in days:
            cur.execute(read("day"), {**params, "ds": day})
            cur.execute("INSERT INTO generator.days (ds, seed, size, is_opening) VALUES (%s, %s, %s, %s)",
                        (day, params["seed"], params["size"], last is None and day == ds))
    _advanced.add((dsn, ds))


# ── extract: COPY … TO STDOUT into the raw lake ────────────────────────────────

def is_first_load(pipeline: str, entity: str, ds: dt.date) -> bool:
    """True when no earlier ds of this entity has been loaded (so this one loads everything)."""
    from workflows import warehouse  # lazy: the pipelines are imported by workflows.base
    from workflows.load import Load

    target = Load(date=ds, pipeline=pipeline, entity=entity).output().target
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
    query, params = extract_query(entity.endpoint, watermark, ds, full)
    with reading(dsn, entity.endpoint) as cur, open(path, "wb") as f:
        cur.copy_expert(cur.mogrify(query, params).decode(), f, size=1 << 20)
        rows = cur.rowcount
    with open(path, newline="", encoding="utf-8") as f:
        fields = next(csv.reader(f), [])
    start, end = window(ds, full)
    return {
        "source_table": entity.endpoint, "mode": "full" if full else "incremental", "record_count": rows,
        "fields": fields, "watermark": {"column": watermark, "from": start and start.isoformat(), "to": end.isoformat()},
        "pid": os.getpid(), "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }


def land_changes(pipeline: str, dsn: str, entity: Entity, ds: dt.date, path: str, watermark: str,
                 full_refresh: bool = False) -> dict:
    """Land ``entity``'s rows changed in [ds, ds+1); everything before ds+1 on the entity's first
    load or when ``full_refresh`` is asked for."""
    full = full_refresh or is_first_load(pipeline, entity.name, ds)
    return land_table(dsn, entity, ds, path, watermark, full)


# ── stage: CSV -> typed Parquet, record batch by record batch ───────────────────

def _convert(values: pa.Array, arrow: pa.DataType) -> tuple[pa.Array, pa.Array | None]:
    """Cast a string column; returns (typed column, mask of values that did not convert, or None)."""
    if pa.types.is_string(arrow):
        return values, None
    if pa.types.is_boolean(arrow):
        lowered = pc.utf8_lower(values)
        bad = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(lowered, pa.array(TRUE + FALSE))))
        typed = pc.if_else(pc.is_valid(values), pc.is_in(lowered, pa.array(TRUE)), pa.scalar(None, pa.bool_()))
        return typed, (bad if pc.any(bad).as_py() else None)
    try:
        return pc.cast(values, arrow), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    typed, bad = [], []
    for value in values.to_pylist():  # rare path: find the values that do not convert
        try:
            typed.append(pc.cast(pa.array([value], pa.string()), arrow)[0].as_py())
            bad.append(False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            typed.append(None)
            bad.append(True)
    return pa.array(typed, arrow), pa.array(bad)


def _check_header(raw_path: str, entity: Entity) -> None:
    with open(raw_path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None)
    if header is None:
        raise SourceError(f"{entity.raw_filename}: empty file, expected a CSV header")
    missing = [c.name for c in entity.columns if c.name not in header]
    if missing:
        raise SourceError(f"{entity.raw_filename}: source columns missing: {', '.join(missing)} (header: {header})")


def _line_numbers(raw_path: str, records: set[int]) -> dict[int, int]:
    """Physical line (the header is line 1) where each 0-based data record starts; quoted newlines count."""
    lines: dict[int, int] = {}
    last = max(records, default=-1)
    with open(raw_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader, None)
        previous = reader.line_num
        for index, _ in enumerate(reader):
            if index in records:
                lines[index] = previous + 1
            if index >= last:
                break
            previous = reader.line_num
    return lines


def _typed_batch(batch: pa.RecordBatch, schema: pa.Schema, nullable: dict[str, bool], lengths: dict[str, int],
                 offset: int) -> tuple[pa.Table, pa.Array | None, list[dict]]:
    """Convert one batch of strings. Returns (typed table, mask of broken rows or None, their rejects)."""
    columns, problems = [], []
    for field in schema:
        raw = batch.column(field.name)
        typed, bad = _convert(raw, field.type)
        columns.append(typed)
        if bad is not None:
            problems.append(("parse", field.name, bad, f"is not a valid {field.type}"))
        if not nullable[field.name] and raw.null_count:
            problems.append(("not_null", field.name, pc.is_null(raw), "is NULL"))
        if field.name in lengths:
            too_long = pc.fill_null(pc.greater(pc.utf8_length(raw), lengths[field.name]), False)
            if pc.any(too_long).as_py():
                problems.append(("max_length", field.name, too_long, f"is longer than {lengths[field.name]}"))
    table = pa.Table.from_arrays(columns, schema=schema)
    if not problems:
        return table, None, []
    mask = functools.reduce(pc.or_, [m for _, _, m, _ in problems])
    rejects = []
    for i in pc.indices_nonzero(mask).to_pylist():
        hits = [(rule, name, what) for rule, name, m, what in problems if m[i].as_py()]
        reason = "; ".join(f"{name} = {batch.column(name)[i].as_py()!r} {what}" for _, name, what in hits)
        rejects.append({"rule": hits[0][0], "reason": reason, "_index": offset + i,
                        "record": {n: batch.column(n)[i].as_py() for n in schema.names}})
    return table, mask, rejects


def stage_csv(entity: Entity, raw_path: str, parquet_path: str, ds: dt.date) -> tuple[int, list[dict]]:
    """Landed CSV -> typed Parquet, streamed. A row whose value does not convert to its column's
    type, is NULL or longer than ``maxLength`` where the contract forbids it, or repeats an earlier
    row's key, is quarantined with its rule, reason and line, and not staged. Returns (rows staged, rejects)."""
    _check_header(raw_path, entity)
    schema = entity.arrow_schema()
    nullable = {name: null for name, _, null, _ in contract(entity.schema)}
    lengths = max_lengths(entity.schema)
    rejects: list[dict] = []
    staged_records: list[pa.Array] = []  # record index of every staged row (to name duplicates' lines)
    offset = 0
    try:
        reader = pacsv.open_csv(
            raw_path,
            read_options=pacsv.ReadOptions(block_size=4 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=schema.names, column_types={n: pa.string() for n in schema.names},
                strings_can_be_null=True, quoted_strings_can_be_null=False),
        )
        with pq.ParquetWriter(parquet_path, schema, compression="zstd") as writer:
            for batch in reader:
                table, broken, bad = _typed_batch(batch, schema, nullable, lengths, offset)
                index = pa.array(range(offset, offset + batch.num_rows), pa.int64())
                if broken is not None:
                    table, index = table.filter(pc.invert(broken)), index.filter(pc.invert(broken))
                    rejects.extend(bad)
                writer.write_table(table)
                staged_records.append(index)
                offset += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise SourceError(f"{entity.raw_filename}: malformed CSV after record {offset}: {exc}") from None
    rows = sum(len(a) for a in staged_records)
    duplicates = _duplicate_rows(parquet_path, entity.key)
    if duplicates:
        records = pa.concat_arrays(staged_records) if staged_records else pa.array([], pa.int64())
        rejects.extend(_drop_rows(parquet_path, duplicates, entity, records))
        rows -= len(duplicates)
    lines = _line_numbers(raw_path, {r["_index"] for r in rejects}) if rejects else {}  # a 2nd pass only if needed
    for r in rejects:
        r["line"] = lines.get(r.pop("_index"))
    return rows, rejects


def _duplicate_rows(parquet_path: str, key: tuple[str, ...]) -> list[int]:
    """Row numbers (in the Parquet file) repeating an earlier row's key; the first one stays."""
    keys = pq.read_table(parquet_path, columns=list(key))
    keys = keys.append_column("_row", pa.array(range(keys.num_rows), pa.int64()))
    groups = keys.group_by(list(key), use_threads=False).aggregate([("_row", "count"), ("_row", "min")])
    repeated = groups.filter(pc.greater(groups["_row_count"], 1))
    if repeated.num_rows == 0:
        return []
    firsts = set(repeated["_row_min"].to_pylist())
    rows = keys.join(repeated.select(list(key)), list(key), join_type="inner")["_row"].to_pylist()
    return sorted(r for r in rows if r not in firsts)


def _drop_rows(parquet_path: str, drop: list[int], entity: Entity, records: pa.Array) -> list[dict]:
    """Rewrite the Parquet file (batch by batch) without rows ``drop``; return their rejects."""
    rejects, drop_set, tmp = [], set(drop), parquet_path + ".dedup"
    source = pq.ParquetFile(parquet_path)
    with pq.ParquetWriter(tmp, source.schema_arrow, compression="zstd") as writer:
        row = 0
        for batch in source.iter_batches(batch_size=65_536):
            here = [i for i in range(batch.num_rows) if row + i in drop_set]
            for i in here:
                record = {n: batch.column(n)[i].as_py() for n in batch.schema.names}
                rejects.append({"rule": "duplicate_key", "_index": records[row + i].as_py(), "record": record,
                                "reason": f"duplicate {', '.join(entity.key)} = "
                                          f"{tuple(record[k] for k in entity.key)}"})
            keep = pa.array([row + i not in drop_set for i in range(batch.num_rows)]) if here else None
            writer.write_batch(batch.filter(keep) if keep is not None else batch)
            row += batch.num_rows
    os.replace(tmp, parquet_path)
    return rejects
