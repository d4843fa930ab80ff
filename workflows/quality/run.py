"""Run every declared data-quality check of a pipeline for one ds and store the results.

Appends one row per check to ``etl.dq_results`` (passes too), the entity row flow
to ``etl.dq_row_flow`` and quarantine counts per reason to ``etl.dq_quarantine``,
all under one run id in one transaction. Samples are masked, and reasons are stored
with their quoted values blanked (a reason may quote the rejected personal value). An ``error``-severity failure (or a
check that could not run) fails the task with a message naming every such
check, after the results are committed and the day's report is rewritten, so
the owners see it; the Check marker is only written when the gate passes.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pyarrow.parquet as pq
from psycopg2 import sql
from psycopg2.extras import Json, execute_values

from targets import PartitionMarker
from workflows import layout, warehouse
from workflows.config import quality as quality_config
from workflows.declarations import Entity, Pipeline, load_schema
from workflows.masking import mask, reason_class
from workflows.quality import checks as C
from workflows.resources import SCHEMAS

log = logging.getLogger("luigi-interface")
QUARANTINE_SAMPLE = 3


class CheckFailed(RuntimeError):
    """An error-severity data-quality check failed (a gate, like dbt's)."""


@dataclass
class CheckResult:
    spec: C.CheckSpec
    status: str = "pass"
    observed: str = ""
    threshold: str = ""
    failing: int | None = None
    total: int | None = None
    sample: list = field(default_factory=list)
    message: str = ""

    def judge(self, failed: bool) -> "CheckResult":
        self.status = ("fail" if self.spec.severity == "error" else "warn") if failed else "pass"
        return self


# ── lake side: what landed, what was staged, what was quarantined ───────────────

@dataclass
class EntityFiles:
    raw_units: int
    raw_fields: set[str]
    staged_rows: int            # in units (lines for JSON Lines / CSV)
    quarantined: list[dict]
    parquet_rows: int = 0       # rows in the staged Parquet file

    @property
    def quarantined_units(self) -> int:
        return sum(r["units"] for r in self.quarantined)


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
    for line in layout.quarantine(pipeline.name, entity.name, ds).read_bytes().decode().splitlines():
        if line.strip():
            rec = json.loads(line)
            rec["units"] = int(rec.get("lines", 1)) if by_lines else int(rec.get("units", 1))
            quarantined.append(rec)
    return EntityFiles(raw_units, fields, staged, quarantined, int(stats["staged"]))


def schema_fields(entity: Entity) -> tuple[set[str], set[str]]:
    """(declared top-level properties, required fields) of the entity's JSON Schema."""
    schema = load_schema(entity.schema)
    return set(schema.get("properties", {})), set(schema.get("required", []))


# ── running the checks ──────────────────────────────────────────────────────────

def _row_count(cur, table: str, ds: dt.date) -> int:
    schema, _, name = table.partition(".")
    cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE ds = %s").format(sql.Identifier(schema, name)), (ds,))
    return cur.fetchone()[0]


def _marker_rows(cur, target: str, ds: dt.date) -> int | None:
    cur.execute("SELECT rows FROM etl.partition_markers WHERE target = %s AND ds = %s", (target, ds))
    row = cur.fetchone()
    return row[0] if row else None


def staging_rows(cur, pipeline: Pipeline, entity: Entity, ds: dt.date) -> int:
    """Rows of the ds in the staging table (replace mode) or rows the Load copied (merge mode)."""
    if entity.merge_sql:
        return _marker_rows(cur, f"load/{pipeline.name}/{entity.name}", ds) or 0
    return _row_count(cur, f"staging.{pipeline.staging_table(entity.name)}", ds)


def evaluate(cur, spec: C.CheckSpec, pipeline: Pipeline, ds: dt.date, files: EntityFiles) -> CheckResult:
    """Run one check (the caller isolates it in a savepoint)."""
    res, opt = CheckResult(spec), spec.options
    entity = pipeline.entities[spec.entity]
    if spec.type in C.SQL_TYPES or (spec.type == "reconciliation" and opt["between"] == "staging_vs_mart"):
        if spec.type == "reconciliation":
            query, params = C.staging_vs_mart_query(spec, ds, f"staging.{pipeline.staging_table(spec.entity)}")
        else:
            query, params = C.row_check_query(spec, ds)
        cur.execute(query, params)
        res.failing, res.total, sample = cur.fetchone()
        res.sample = [mask(s) for s in sample]
        res.observed, res.threshold = f"{res.failing} of {res.total} rows failing", "0 rows"
        return res.judge(res.failing > 0)
    if spec.type == "freshness":
        cur.execute(*C.freshness_query(spec, ds))
        newest, age = cur.fetchone()
        limit = float(opt.get("max_age_hours", 24))
        res.threshold, res.total = f"<= {limit:g} h old at the end of ds", 1
        res.observed = f"newest {newest} ({float(age):.1f} h old)" if newest else "no rows"
        res.failing = int(newest is None or float(age) > limit)
        return res.judge(bool(res.failing))
    if spec.type == "row_count_anomaly":
        cur.execute(*C.history_query(spec, ds))
        counts = dict(cur.fetchall())
        today, history = counts.pop(ds, 0), list(counts.values())
        min_history, max_dev = int(opt.get("min_history", 3)), float(opt.get("max_deviation", 0.5))
        res.total, res.threshold = today, f"within {max_dev:.0%} of the trailing mean"
        if len(history) < min_history:
            res.observed, res.failing = f"{today} rows", 0
            res.message = f"insufficient history ({len(history)} of {min_history} earlier partitions)"
            return res.judge(False)
        mean = sum(history) / len(history)
        deviation = abs(today - mean) / mean if mean else float(today > 0)
        res.observed = f"{today} rows vs mean {mean:.1f} of {len(history)} days ({deviation:.0%} off)"
        res.failing = int(deviation > max_dev)
        return res.judge(bool(res.failing))
    if spec.type == "schema_drift":
        declared, required = schema_fields(entity)
        unknown, gone = sorted(files.raw_fields - declared), sorted(required - files.raw_fields)
        res.failing, res.total, res.threshold = len(unknown) + len(gone), len(declared), "no unknown or missing fields"
        res.observed = f"unknown fields: {unknown or 'none'}; required fields absent: {gone or 'none'}"
        return res.judge(res.failing > 0)
    if opt["between"] == "raw_vs_staged":
        q = files.quarantined_units
        res.total, res.failing = files.raw_units, abs(files.raw_units - files.staged_rows - q)
        res.observed = f"raw {files.raw_units}, staged {files.staged_rows}, quarantined {q}"
        res.threshold = "raw = staged + quarantined"
        return res.judge(res.failing > 0)
    table_rows = staging_rows(cur, pipeline, entity, ds)
    res.total, res.failing = files.parquet_rows, abs(files.parquet_rows - table_rows)
    res.observed, res.threshold = f"parquet {files.parquet_rows}, staging table {table_rows}", "equal"
    return res.judge(res.failing > 0)


def run_checks(pipeline: Pipeline, ds: dt.date, marker: PartitionMarker | None = None) -> tuple[str, list[CheckResult]]:
    """Run, store and return all checks of ``pipeline`` for ``ds``. The marker (if given)
    is written in the same transaction, only when no error-severity check failed."""
    checks_dir = Path(quality_config().checks_dir) if quality_config().checks_dir else SCHEMAS
    specs = C.load_checks(checks_dir, pipeline.name, {name: e.key for name, e in pipeline.entities.items()})
    run_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    files = {name: read_entity_files(pipeline, e, ds) for name, e in pipeline.entities.items()}
    results = []
    with warehouse.transaction() as cur:
        for spec in specs:
            cur.execute("SAVEPOINT dq_check")
            try:
                results.append(evaluate(cur, spec, pipeline, ds, files[spec.entity]))
                cur.execute("RELEASE SAVEPOINT dq_check")
            except (psycopg2.Error, C.CheckDeclarationError, KeyError, ValueError) as exc:
                cur.execute("ROLLBACK TO SAVEPOINT dq_check")
                results.append(CheckResult(spec, status="error", message=f"check could not run: {exc}".strip()))
        _store(cur, run_id, pipeline, ds, results, files)
        if marker is not None and not failures(results):
            marker.write(cur, len(results))
    return run_id, results


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status in ("fail", "error")]


def _store(cur, run_id: str, pipeline: Pipeline, ds: dt.date, results: list[CheckResult], files) -> None:
    execute_values(cur, """
        INSERT INTO etl.dq_results (run_id, ds, pipeline, entity, layer, check_name, check_type, columns, severity,
                                    status, observed, threshold, failing_count, total_count, failing_sample, message)
        VALUES %s""", [
        (run_id, ds, pipeline.name, r.spec.entity, r.spec.layer, r.spec.name, r.spec.type, list(r.spec.columns),
         r.spec.severity, r.status, r.observed, r.threshold, r.failing, r.total, Json(r.sample), r.message or None)
        for r in results])
    flow = []
    for name, entity in pipeline.entities.items():
        marts = [m for m in pipeline.marts.values() if m.entities and m.entities[0] == name]
        mart_rows = [_marker_rows(cur, f"mart/{pipeline.name}/{m.name}", ds) for m in marts]
        f = files[name]
        flow.append((run_id, ds, pipeline.name, name, f.raw_units, f.staged_rows, f.quarantined_units,
                     staging_rows(cur, pipeline, entity, ds), ", ".join(m.name for m in marts) or None,
                     sum(r or 0 for r in mart_rows) if marts else None))
    execute_values(cur, "INSERT INTO etl.dq_row_flow VALUES %s", flow)
    groups: dict[tuple, list] = {}
    for name, f in files.items():
        for rec in f.quarantined:
            groups.setdefault((name, rec.get("rule", "?"), reason_class(str(rec.get("reason", "")))), []).append(rec)
    rows = [
        (run_id, ds, pipeline.name, entity, rule, reason, sum(r["units"] for r in recs),
         Json([mask({"reason": reason, "line": r.get("line"), "record": r.get("record")}) for r in recs[:QUARANTINE_SAMPLE]]))
        for (entity, rule, reason), recs in groups.items()
    ]
    if rows:
        execute_values(cur, "INSERT INTO etl.dq_quarantine VALUES %s", rows)


def failure_message(pipeline: str, ds: dt.date, failed: list[CheckResult]) -> str:
    lines = [f"{len(failed)} data-quality check(s) failed for {pipeline} ds={ds}:"]
    for r in failed:
        what = r.message or f"observed {r.observed}; expected {r.threshold}"
        lines.append(f"  - {r.spec.entity}.{r.spec.name} [{r.spec.type}, {r.status}] on {r.spec.table}: {what}")
    return "\n".join(lines)
