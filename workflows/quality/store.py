"""Storing an evaluation: check results, the entity's row flow and quarantine groups, under one run id.

Everything stored goes through ``workflows.quality.sanitize`` (NUL, lone surrogates, control
characters escaped; long values, lists and nesting cut) and personal fields are masked, so what
a sample or a quarantined record contains can never make recording fail. Reasons are stored with
their quoted values blanked (a reason may quote the rejected personal value).
"""
from __future__ import annotations

import datetime as dt
import uuid

from psycopg2.extras import Json, execute_values

from workflows.masking import mask, reason_class
from workflows.quality.run import CheckResult, EntityFiles
from workflows.quality.sanitize import message, safe, text

QUARANTINE_SAMPLE = 3


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def store_results(cur, run_id: str, pipeline: str, ds: dt.date, results: list[CheckResult]) -> None:
    """Append one etl.dq_results row per result (passes too)."""
    if not results:
        return
    execute_values(cur, """
        INSERT INTO etl.dq_results (run_id, ds, pipeline, entity, layer, check_name, check_type, columns, severity,
                                    status, observed, threshold, failing_count, total_count, failing_sample, message,
                                    step, checked_table)
        VALUES %s""", [
        (run_id, ds, pipeline, r.spec.entity, r.spec.layer, r.spec.name, r.spec.type, [text(c) for c in r.spec.columns],
         r.spec.severity, r.status, message(r.observed), message(r.threshold), r.failing, r.total,
         Json(safe(mask(r.sample))), message(r.message), r.spec.step, r.spec.table)
        for r in results])


def store_flow(cur, run_id: str, pipeline: str, entity: str, ds: dt.date, files: EntityFiles | None,
               staging_rows: int | None) -> None:
    """The entity's row flow (raw → valid → quarantined → staging) and its quarantine per rule and reason."""
    f = files
    cur.execute("INSERT INTO etl.dq_row_flow (run_id, ds, pipeline, entity, raw_records, valid_rows, quarantined, "
                "staging_rows) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (run_id, ds, pipeline, entity, f and f.raw_units, f and f.staged_rows, f and f.quarantined_units,
                 staging_rows))
    if f is None:
        return
    groups: dict[tuple, list] = {}
    for rec in f.quarantined:
        rule = text(rec.get("rule", "?"), 64)
        groups.setdefault((rule, text(reason_class(str(rec.get("reason", ""))), 500)), []).append(rec)
    rows = [
        (run_id, ds, pipeline, entity, rule, reason, sum(r["units"] for r in recs),
         Json(safe([mask({"reason": reason, "line": r.get("line"), "record": r.get("record")})
                    for r in recs[:QUARANTINE_SAMPLE]])))
        for (rule, reason), recs in groups.items()
    ]
    if rows:
        execute_values(cur, "INSERT INTO etl.dq_quarantine (run_id, ds, pipeline, entity, rule, reason, records, sample) "
                            "VALUES %s", rows)
