"""Evaluating checks: one ``CheckResult`` per check, from SQL on the warehouse and counts from the lake.

``run_specs`` isolates every check in a savepoint: a check that cannot run (bad SQL, a missing
table or lake file) becomes status ``error`` with its reason, and the others still run. An
``error`` or an error-severity ``fail`` blocks: the entity's marts are held back (audit), or the
mart's transaction is rolled back (mart build). The lake-side counts (``read_entity_files``) are
the units the reconciliations compare: records of a JSON envelope (an exploded record counts
its items), physical lines of JSON Lines and CSV.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from workflows.declarations import Pipeline
from workflows.masking import mask
from workflows.quality import checks as C
from workflows.quality.lake import EntityFiles, evaluate_lake, lake_counts
from workflows.quality.lake import read_entity_files, schema_fields, staging_rows  # noqa: F401 - their old home
from workflows.quality.sanitize import safe

log = logging.getLogger("luigi-interface")
BLOCKING = ("fail", "error")


class CheckFailed(RuntimeError):
    """A pipeline's gate failed: an error-severity check failed or could not run (like a dbt test)."""


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

    def judge(self, failed: bool, message: str = "") -> "CheckResult":
        self.status = ("fail" if self.spec.severity == "error" else "warn") if failed else "pass"
        if failed and not self.message:
            self.message = message or describe(self.spec, self)
        return self


def failures(results: list[CheckResult]) -> list[CheckResult]:
    """The blocking results: error-severity failures and checks that could not run."""
    return [r for r in results if r.status in BLOCKING]


def describe(spec: C.CheckSpec, res: CheckResult) -> str:
    """A failure in words: how many rows, and the rule they break."""
    o, cols = spec.options, ", ".join(spec.columns)
    rule = {
        "not_null": f"{cols} must not be NULL",
        "unique": f"({cols}) must be unique",
        "accepted_values": f"{cols} must be one of {o.get('values')}",
        "range": f"{cols} must be within [{o.get('min', '-∞')}, {o.get('max', '∞')}]",
        "expression": f"must hold: {o.get('expression')}",
        "relationships": f"{cols} must exist in {o.get('to_table')}.{o.get('to_column')}",
    }.get(spec.type, f"expected {res.threshold}")
    if res.failing is not None and res.total is not None and spec.type in C.SQL_TYPES:
        return f"{res.failing} of {res.total} rows fail: {rule}"
    return f"observed {res.observed}; {rule}"


def _require_rows(cur, res: CheckResult, pipeline: Pipeline, ds: dt.date) -> bool:
    """For ``require_rows``: True when the check's empty scope is itself a failure."""
    need = res.spec.options.get("require_rows")
    if not need or res.total:
        return False
    if need is True:
        res.message = f"nothing to check: {res.spec.table} has no row for this ds"
        return True
    cur.execute(*C.count_query(f"staging.{pipeline.staging_table(need)}", ds))
    staged = cur.fetchone()[0]
    if staged:
        res.message = f"nothing to reconcile: {res.spec.table} has no row for this ds while {need} staged {staged}"
    return bool(staged)


def evaluate(cur, spec: C.CheckSpec, pipeline: Pipeline, ds: dt.date,
             files: EntityFiles | Exception | None = None) -> CheckResult:
    """Run one check (the caller isolates it in a savepoint)."""
    res, opt = CheckResult(spec), spec.options
    if spec.type in C.LAKE_TYPES or opt.get("between") in C.AUDIT_RECONCILIATIONS:
        return evaluate_lake(cur, res, pipeline, pipeline.entity(spec.entity), ds, lake_counts(files))
    if spec.type in C.SQL_TYPES:
        cur.execute(*C.row_check_query(spec, ds))
        res.failing, res.total, sample = cur.fetchone()
        res.sample = [mask(s) for s in sample]
        res.observed, res.threshold = f"{res.failing} of {res.total} rows failing", "0 rows"
        empty = _require_rows(cur, res, pipeline, ds)
        return res.judge(res.failing > 0 or empty)
    if spec.type == "freshness":
        cur.execute(*C.freshness_query(spec, ds))
        newest, age = cur.fetchone()
        limit = float(opt.get("max_age_hours", 24))
        res.threshold, res.total = f"<= {limit:g} h old at the end of ds", 1
        res.observed = f"newest {newest} ({float(age):.1f} h old)" if newest else "no rows"
        res.failing = int(newest is None or float(age) > limit)
        return res.judge(bool(res.failing), f"newest {spec.columns[0]} is older than {limit:g} h")
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
        return res.judge(bool(res.failing), f"{today} rows, {deviation:.0%} off the mean of the previous {len(history)} "
                                            f"partitions (more than {max_dev:.0%})")
    mart = pipeline.mart(spec.entity)
    staged_entity = opt.get("entity") or mart.entities[0]
    staging_table = f"staging.{pipeline.staging_table(staged_entity)}"
    if opt["between"] == "staged_rows_vs_mart_sum":
        cur.execute(*C.staged_rows_vs_mart_sum_query(spec, ds, staging_table))
        staged, total = cur.fetchone()
        what = f"sum({opt['sum']})" if opt.get("sum") else "rows"
        res.total, res.failing = staged, abs(int(staged) - int(total))
        res.observed, res.threshold = f"{staged_entity} staged {staged} rows, {spec.table} {what} {total}", "equal"
        return res.judge(res.failing > 0, f"{spec.table} {what} = {total} but {staged_entity} staged {staged} rows")
    cur.execute(*C.staging_vs_mart_query(spec, ds, staging_table))
    res.failing, res.total, sample = cur.fetchone()
    res.sample = [mask(s) for s in sample]
    res.observed, res.threshold = f"{res.failing} of {res.total} keys not reconciled", "0 keys"
    return res.judge(res.failing > 0, f"{res.failing} keys of {staged_entity} not reconciled with {spec.table}")


def run_specs(cur, specs: list[C.CheckSpec], pipeline: Pipeline, ds: dt.date,
              files: EntityFiles | Exception | None = None) -> list[CheckResult]:
    """Every check, each in a savepoint: one that cannot run is status ``error`` with its reason."""
    results = []
    for spec in specs:
        cur.execute("SAVEPOINT dq_check")
        try:
            results.append(evaluate(cur, spec, pipeline, ds, files))
            cur.execute("RELEASE SAVEPOINT dq_check")
        except Exception as exc:  # noqa: BLE001 - any check that cannot run is recorded as such, never fatal
            cur.execute("ROLLBACK TO SAVEPOINT dq_check")
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            results.append(CheckResult(spec, status="error", message=f"check could not run: {first}"))
    for r in results:
        r.sample = safe(r.sample)
    return results


def failure_message(pipeline: str, ds: dt.date, failed: list[CheckResult]) -> str:
    lines = [f"{len(failed)} data-quality check(s) failed for {pipeline} ds={ds}:"]
    for r in failed:
        what = r.message if r.status == "error" else f"observed {r.observed}; expected {r.threshold}"
        lines.append(f"  - {r.spec.entity}.{r.spec.name} [{r.spec.type}, {r.status}] on {r.spec.table}: {what}")
    return "\n".join(lines)
