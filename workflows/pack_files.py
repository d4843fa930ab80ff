"""The files of a deliverables pack, written to a local folder: mart rows (CSV + Parquet), samples.

Which rows of a mart belong to a ds is read off the table itself (first rule that applies):
``ds`` column = ds (the partition that wrote the row); ``first_seen_ds`` ≤ ds ≤
``last_seen_ds`` (snapshot dimensions: the members known on ds); the first date column
of the primary key = ds (event-date marts); otherwise every row (e.g. a calendar).
Rows are ordered by the primary key, timestamps in UTC, so the same rows give the same
bytes. Samples are the first ``SAMPLE_ROWS`` records of the raw file and of the staged
Parquet, with personal fields (``workflows.masking``) and pseudonymised source fields masked.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from psycopg2 import sql

from targets import LakeTarget
from workflows import jsontext, warehouse
from workflows.declarations import Entity
from workflows.masking import PERSONAL, mask, mask_value

FETCH_ROWS = 10_000
SAMPLE_ROWS = 5
_SCAN_LINES = 1_000  # JSONL: lines read to find SAMPLE_ROWS parseable records
_ARROW = {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64(), "float4": pa.float32(),
          "float8": pa.float64(), "bool": pa.bool_(), "date": pa.date32(), "text": pa.string(),
          "varchar": pa.string(), "bpchar": pa.string(), "name": pa.string(),
          "timestamptz": pa.timestamp("us", tz="UTC"), "timestamp": pa.timestamp("us")}


@dataclass(frozen=True)
class MartRows:
    table: str  # schema.name
    rule: str   # which rows: e.g. "ds = 2026-11-20"
    rows: int


def mart_table(cur, pipeline: str, mart: str) -> tuple[str, str]:
    """(schema, table) holding a declared mart: schema ``<pipeline>`` if it has it, else ``mart``."""
    for schema in (pipeline, "mart"):
        cur.execute("SELECT to_regclass(%s)", (sql.Identifier(schema, mart).as_string(cur),))
        if cur.fetchone()[0] is not None:
            return schema, mart
    raise ValueError(f"mart {mart!r} of pipeline {pipeline!r}: no table {pipeline}.{mart} or mart.{mart}")


def _columns(cur, schema: str, table: str) -> list[dict]:
    cur.execute(warehouse.read_sql("pack/mart_columns.sql"), {"table": sql.Identifier(schema, table).as_string(cur)})
    return [dict(zip(("name", "type", "precision", "scale", "pk"), r)) for r in cur.fetchall()]


def _arrow_type(col: dict) -> pa.DataType | None:
    """The Arrow type of a column; None = exported as its text form."""
    if col["type"] == "numeric":
        return pa.decimal128(col["precision"], col["scale"]) if col["precision"] and col["precision"] <= 38 else None
    return _ARROW.get(col["type"])


def _rows_rule(cols: list[dict], ds) -> tuple[sql.Composable, str]:
    names = {c["name"]: c for c in cols}
    if "ds" in names:
        return sql.SQL("{} = %(ds)s").format(sql.Identifier("ds")), f"ds = {ds}"
    if {"first_seen_ds", "last_seen_ds"} <= set(names):
        where = sql.SQL("{} <= %(ds)s AND {} >= %(ds)s").format(sql.Identifier("first_seen_ds"),
                                                               sql.Identifier("last_seen_ds"))
        return where, f"first_seen_ds <= {ds} <= last_seen_ds"
    key_dates = sorted((c for c in cols if c["pk"] is not None and c["type"] == "date"), key=lambda c: c["pk"])
    if key_dates:
        return sql.SQL("{} = %(ds)s").format(sql.Identifier(key_dates[0]["name"])), f"{key_dates[0]['name']} = {ds}"
    return sql.SQL("true"), "all rows"


def write_mart(cur, pipeline: str, mart: str, ds, csv_path: str, parquet_path: str) -> MartRows:
    """The ds's rows of one mart -> a CSV file (COPY, with header) and a Parquet file (typed)."""
    schema, table = mart_table(cur, pipeline, mart)
    cols = _columns(cur, schema, table)
    where, rule = _rows_rule(cols, ds)
    types = [_arrow_type(c) for c in cols]
    names = [sql.Identifier(c["name"]) for c in cols]
    select = sql.SQL(", ").join(n if t is not None else sql.SQL("{}::text AS {}").format(n, n) for n, t in zip(names, types))
    in_key = sorted((c for c in cols if c["pk"] is not None), key=lambda c: c["pk"])
    keys = [c["name"] for c in in_key] or [c["name"] for c in cols]
    query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}").format(
        select, sql.Identifier(schema, table), where, sql.SQL(", ").join(map(sql.Identifier, keys)))
    bound = cur.mogrify(query, {"ds": ds}).decode()
    with open(csv_path, "w", encoding="utf-8", newline="") as out:
        cur.copy_expert(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(sql.SQL(bound)), out)
    schema_pa = pa.schema([(c["name"], t or pa.string()) for c, t in zip(cols, types)])
    count = 0
    with pq.ParquetWriter(parquet_path, schema_pa, compression="zstd") as writer, \
            cur.connection.cursor(name=f"pack_{table}") as rows:
        rows.itersize = FETCH_ROWS
        rows.execute(query, {"ds": ds})
        while batch := rows.fetchmany(FETCH_ROWS):
            arrays = [pa.array(values, type=f.type) for values, f in zip(zip(*batch), schema_pa)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema_pa))
            count += len(batch)
    return MartRows(table=f"{schema}.{table}", rule=rule, rows=count)


def _pseudonymised(entity: Entity) -> set[str]:
    """Raw fields the staging replaces by a pseudonym (columns named ``*_pseudo_id``)."""
    return {c.source.split(".")[0] for c in entity.columns if c.name.endswith("_pseudo_id") and c.source}


def _mask_record(record, hidden: set[str]):
    masked = mask(record)
    if isinstance(masked, dict):
        masked = {k: mask_value(v) if k in hidden else v for k, v in masked.items()}
    return masked


def _hide(name: str, hidden: set[str]) -> bool:
    return bool(PERSONAL.search(name)) or name in hidden


def raw_sample(entity: Entity, raw: LakeTarget, out_path: str) -> int:
    """The first records of the raw file, masked, in the raw file's format; returns how many."""
    hidden = _pseudonymised(entity)
    name = entity.raw_filename
    with raw.local_path() as path, open(path, encoding="utf-8", errors="replace", newline="") as f, \
            open(out_path, "w", encoding="utf-8", newline="") as out:  # a raw file may hold any bytes
        if name.endswith(".csv"):
            reader = csv.reader(line.replace("\0", "\ufffd") for line in f)
            writer = csv.writer(out, lineterminator="\n")
            header = next(reader, [])
            writer.writerow(header)
            rows = [row for _, row in zip(range(SAMPLE_ROWS), reader)]
            for row in rows:
                writer.writerow([mask_value(v) if v and _hide(h, hidden) else v for h, v in zip(header, row)])
            return len(rows)
        if name.endswith(".jsonl"):
            records = []
            for _, line in zip(range(_SCAN_LINES), f):
                try:
                    record = jsontext.loads(line)
                except ValueError:
                    continue  # a malformed line is not a sample of the format
                if jsontext.defect(record):
                    continue
                records.append(record)
                if len(records) == SAMPLE_ROWS:
                    break
            out.writelines(json.dumps(_mask_record(r, hidden)) + "\n" for r in records)
            return len(records)
        records = jsontext.loads(f.read()).get("records", [])  # the JSON envelope {meta, records}
        records = [r for r in records if not jsontext.defect(r)][:SAMPLE_ROWS]
        json.dump({"entity": entity.name, "source": raw.key, "records": [_mask_record(r, hidden) for r in records]},
                  out, indent=1)
        out.write("\n")
        return len(records)


def _text(value) -> str:
    return "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


def staged_sample(staged: LakeTarget, out_path: str) -> int:
    """The first rows of the staged Parquet as CSV, personal columns masked; returns how many."""
    with staged.local_path() as path:
        table = next(pq.ParquetFile(path).iter_batches(batch_size=SAMPLE_ROWS), None)
        names = pq.read_schema(path).names
    rows = table.to_pylist() if table is not None else []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_text(mask_value(v) if v is not None and PERSONAL.search(k) else v) for k, v in row.items()])
    with open(out_path, "w", encoding="utf-8", newline="") as out:
        out.write(buf.getvalue())
    return len(rows)


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
