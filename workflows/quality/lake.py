"""The lake-side checks of an entity's audit: counts read from its raw, staged and quarantine files.

Units (what the reconciliations and gates compare): records of a JSON envelope (an exploded
record counts its items), physical lines of JSON Lines and CSV (the landing's own count of
non-blank lines, against the lines each staged or quarantined record spans), so a record that
swallows lines cannot hide them. Evaluates the default gates (volume, quarantine share), schema
drift and the lake-vs-warehouse reconciliations.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import statistics
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg2 import sql

from workflows import layout
from workflows.config import quality as quality_config
from workflows.declarations import Entity, Pipeline, load_schema
from workflows.masking import mask
from workflows.quality import checks as C


@dataclass
class EntityFiles:
    raw_units: int
    raw_fields: set[str]
    staged_rows: int            # in units (lines for JSON Lines / CSV)
    quarantined: list[dict]
    parquet_rows: int = 0       # rows in the staged Parquet file
    unit: str = "records"

    @property
    def quarantined_units(self) -> int:
        return sum(r["units"] for r in self.quarantined)

    def rules(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.quarantined:
            out[r.get("rule", "?")] = out.get(r.get("rule", "?"), 0) + r["units"]
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _units(record, explode: str | None) -> int:
    if explode and isinstance(record, dict) and isinstance(record.get(explode), list):
        return len(record[explode])
    return 1


def read_entity_files(pipeline: Pipeline, entity: Entity, ds: dt.date) -> EntityFiles:
    """Counts read straight from the lake files of one entity and ds. Units: for a JSON envelope
    its records (an exploded record counts its items); for JSON Lines and CSV physical lines
    (the landing's own count of non-blank lines, against the lines each staged or quarantined
    record spans), so a record that swallows lines cannot hide them."""
    raw = layout.raw(pipeline.name, entity.name, ds, entity.raw_filename)
    meta = json.loads(layout.raw(pipeline.name, entity.name, ds, f"{entity.raw_filename}.meta.json").read_bytes())
    stats = json.loads(layout.stage_stats(pipeline.name, entity.name, ds).read_bytes())
    by_lines = entity.format != "json"
    if by_lines:
        raw_units = int(meta["lines"])
        fields = set(meta.get("fields") or stats.get("fields") or [])
        staged = int(stats["staged_lines"])
    else:
        records = json.loads(raw.read_bytes())["records"]
        raw_units = sum(_units(r, entity.explode) for r in records)
        fields = {k for r in records if isinstance(r, dict) for k in r}
        staged = int(stats["staged"])
    quarantined = []
    for line in layout.quarantine(pipeline.name, entity.name, ds).read_bytes().decode("utf-8", "replace").splitlines():
        if line.strip():
            rec = json.loads(line)
            rec["units"] = int(rec.get("lines", 1)) if by_lines else int(rec.get("units", 1))
            quarantined.append(rec)
    return EntityFiles(raw_units, fields, staged, quarantined, int(stats["staged"]), "lines" if by_lines else "records")


def schema_fields(entity: Entity) -> tuple[set[str], set[str]]:
    """(declared top-level properties, required fields) of the entity's JSON Schema."""
    schema = load_schema(entity.schema)
    return set(schema.get("properties", {})), set(schema.get("required", []))


# ── warehouse side ──────────────────────────────────────────────────────────────

def _marker_rows(cur, target: str, ds: dt.date) -> int | None:
    cur.execute("SELECT rows FROM etl.partition_markers WHERE target = %s AND ds = %s", (target, ds))
    row = cur.fetchone()
    return row[0] if row else None


def staging_rows(cur, pipeline: Pipeline, entity: Entity, ds: dt.date) -> int:
    """Rows of the ds in the staging table (replace mode) or rows the Load copied (merge mode)."""
    if entity.merge_sql:
        return _marker_rows(cur, f"load/{pipeline.name}/{entity.name}", ds) or 0
    cur.execute(*C.count_query(f"staging.{pipeline.staging_table(entity.name)}", ds))
    return cur.fetchone()[0]


def _csv_column(col: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        return pc.binary_join_element_wise(pc.cast(pc.cast(col, pa.timestamp(col.type.unit)), pa.string()), "Z", "")
    return col


def missing_keys(cur, pipeline: Pipeline, entity: Entity, ds: dt.date, key: tuple[str, ...]) -> tuple[int, int, list]:
    """Keys of the staged Parquet file absent from the staging table: (missing, keys, sample).
    The keys are copied into a temp table typed like the staging table's key columns."""
    table = sql.Identifier("staging", pipeline.staging_table(entity.name))
    with layout.staged(pipeline.name, entity.name, ds).local_path() as path:
        keys = pq.read_table(path, columns=list(key))
    cur.execute("DROP TABLE IF EXISTS dq_keys")
    cur.execute(sql.SQL("CREATE TEMP TABLE dq_keys ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
        C._ids(key), table))
    sink = io.BytesIO()
    pacsv.write_csv(pa.table([_csv_column(c.combine_chunks()) for c in keys.columns], names=list(key)), sink,
                    pacsv.WriteOptions(include_header=False))
    sink.seek(0)
    cur.copy_expert(sql.SQL("COPY dq_keys ({}) FROM STDIN WITH (FORMAT csv)").format(C._ids(key)).as_string(cur), sink)
    cur.execute(sql.SQL(
        "WITH missing AS (SELECT k.* FROM dq_keys k WHERE NOT EXISTS (SELECT 1 FROM {t} s WHERE ({sk}) = ({kk}))) "
        "SELECT (SELECT count(*) FROM missing), (SELECT count(*) FROM dq_keys), "
        "(SELECT coalesce(jsonb_agg(to_jsonb(m)), '[]'::jsonb) FROM (SELECT * FROM missing LIMIT {n}) m)"
    ).format(t=table, sk=C._ids(key, "s"), kk=C._ids(key, "k"), n=sql.Literal(C.SAMPLE_SIZE)))
    return cur.fetchone()


def _history(cur, pipeline: str, entity: str, ds: dt.date, days: int) -> list[int]:
    """Rows loaded on each of the previous ``days`` dates (the Load markers)."""
    cur.execute("SELECT rows FROM etl.partition_markers WHERE target = %s AND ds >= %s AND ds < %s ORDER BY ds",
                (f"load/{pipeline}/{entity}", ds - dt.timedelta(days=days), ds))
    return [r[0] for r in cur.fetchall()]


def lake_counts(files: EntityFiles | Exception | None) -> EntityFiles:
    """The counts, or the reason they could not be read (raised, so the check is status ``error``)."""
    if isinstance(files, Exception):
        raise files
    if files is None:
        raise ValueError("no lake counts for this entity")
    return files


def evaluate_lake(cur, res, pipeline: Pipeline, entity: Entity, ds: dt.date,
                  files: EntityFiles):
    """Judge the lake-side check of ``res`` (a CheckResult) from the entity's counts and the warehouse."""
    spec, opt, unit = res.spec, res.spec.options, files.unit
    raw, staged, q = files.raw_units, files.staged_rows, files.quarantined_units
    if spec.type == "volume" and opt["rule"] == "staged_when_raw":
        res.total, res.failing = raw, raw if raw > 0 and staged == 0 else 0
        res.observed, res.threshold = f"raw {raw} {unit}, staged {staged}", "staged > 0 when raw > 0"
        return res.judge(bool(res.failing), f"nothing staged: {q} of {raw} raw {unit} quarantined, 0 staged")
    if spec.type == "volume" and opt["rule"] == "raw_present":
        res.total, res.failing = raw, int(raw == 0)
        res.observed, res.threshold = f"raw {raw} {unit}", "raw > 0"
        return res.judge(raw == 0, "empty drop: nothing landed for this ds")
    if spec.type == "volume":
        cfg = quality_config()
        days, min_days = int(opt.get("days", cfg.history_days)), int(opt.get("min_days", cfg.history_min_days))
        max_drop = float(opt.get("max_drop", cfg.history_max_drop))
        history = _history(cur, pipeline.name, entity.name, ds, days)
        today = files.parquet_rows
        res.total, res.threshold = today, f">= {1 - max_drop:.0%} of the median of the previous {days} days"
        if len(history) < min_days:
            res.observed, res.failing = f"{today} rows", 0
            res.message = f"insufficient history ({len(history)} of {min_days} earlier days)"
            return res.judge(False)
        median = statistics.median(history)
        res.observed = f"{today} rows vs median {median:g} of {len(history)} days"
        res.failing = int(today < (1 - max_drop) * median)
        return res.judge(bool(res.failing), f"{today} rows staged, far below the trailing median {median:g}")
    if spec.type == "quarantine_share":
        cfg = quality_config()
        top, warn = float(opt.get("max", cfg.max_quarantine_share)), float(opt.get("warn", cfg.warn_quarantine_share))
        share = q / raw if raw else 0.0
        res.total, res.failing = raw, q
        res.observed, res.threshold = f"{q} of {raw} {unit} ({share:.1%})", f"<= {top:.0%} (warn above {warn:.0%})"
        rules = ", ".join(f"{rule} {n}" for rule, n in list(files.rules().items())[:4])
        if share > top:
            return res.judge(True, f"{share:.1%} of the raw {unit} quarantined, above {top:.0%}: {rules}")
        res.status = "warn" if share > warn else "pass"
        if res.status == "warn":
            res.message = f"{share:.1%} of the raw {unit} quarantined (warn above {warn:.0%}): {rules}"
        return res
    if spec.type == "schema_drift":
        declared_fields, required = schema_fields(entity)
        unknown, gone = sorted(files.raw_fields - declared_fields), sorted(required - files.raw_fields)
        if raw == 0:  # nothing landed: no field can be seen missing
            gone = []
        res.failing, res.total, res.threshold = len(unknown) + len(gone), len(declared_fields), "no unknown or missing fields"
        res.observed = f"unknown fields: {unknown or 'none'}; required fields absent: {gone or 'none'}"
        return res.judge(res.failing > 0, f"the raw records and the JSON Schema differ: {len(unknown)} unknown, "
                                          f"{len(gone)} required fields absent")
    between = opt["between"]
    if between == "raw_vs_staged":
        res.total, res.failing = raw, abs(raw - staged - q)
        res.observed, res.threshold = f"raw {raw}, staged {staged}, quarantined {q} ({unit})", "raw = staged + quarantined"
        return res.judge(res.failing > 0, f"{res.failing} raw {unit} neither staged nor quarantined (or counted twice)")
    if between == "parquet_vs_table":
        if entity.merge_sql:
            raise C.CheckDeclarationError("parquet_vs_table cannot fail for a merge entity (the Load copies the file "
                                          "itself): use parquet_keys_in_table")
        table_rows = staging_rows(cur, pipeline, entity, ds)
        res.total, res.failing = files.parquet_rows, abs(files.parquet_rows - table_rows)
        res.observed, res.threshold = f"parquet {files.parquet_rows}, staging table {table_rows}", "equal"
        return res.judge(res.failing > 0, f"staged file and staging table differ by {res.failing} rows")
    key = tuple(opt.get("key") or entity.key)
    res.failing, res.total, sample = missing_keys(cur, pipeline, entity, ds, key)
    res.sample = [mask(s) for s in sample]
    res.observed, res.threshold = f"{res.failing} of {res.total} staged keys missing from the table", "0 missing"
    return res.judge(res.failing > 0, f"{res.failing} keys of the staged file are not in the staging table after the merge")
