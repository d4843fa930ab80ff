"""Audit one entity's ds after its Load: its declared checks and the default gates, stored with the decision.

The results, the row flow, the quarantine groups, the decision (pass / warn / fail / error;
blocking when an error-severity check failed or a check could not run) and the audit's marker
commit in one transaction. The audit itself always completes: a blocking decision holds back the
marts that read the entity (``workflows.quality.build``), and the pipeline's ``Check`` fails.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workflows import warehouse
from workflows.declarations import Pipeline
from workflows.quality import decisions, declared
from workflows.quality.checks import CheckDeclarationError, CheckSpec
from workflows.quality.lake import read_entity_files, staging_rows
from workflows.quality.run import CheckResult, failures, run_specs
from workflows.quality.store import new_run_id, store_flow, store_results

RANK = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


@dataclass
class Verdict:
    run_id: str
    outcome: str          # worst status: pass | warn | fail | error (a mart build: published | rolled_back | held_back)
    blocking: bool
    message: str
    results: list[CheckResult]


def declaration_error(pipeline: str, scope: str, step: str, exc: Exception) -> CheckResult:
    """A checks file that cannot be read is itself a blocking result (the report shows why)."""
    spec = CheckSpec(pipeline, scope, "checks_declaration", "declaration", "error", "-", "staging" if step == "audit"
                     else "mart", None, step=step)
    return CheckResult(spec, status="error", message=f"checks declaration is invalid: {exc}")


def summary(results: list[CheckResult]) -> str:
    """The blocking results (else the warnings) named with their messages, for the decision."""
    shown = failures(results) or [r for r in results if r.status == "warn"]
    return "; ".join(f"{r.spec.name}: {r.message or r.observed}" for r in shown[:5]) + (
        f"; … {len(shown) - 5} more" if len(shown) > 5 else "")


def worst(results: list[CheckResult]) -> str:
    return max((r.status for r in results), key=RANK.get, default="pass")


def audit_entity(pipeline: Pipeline, entity: str, ds: dt.date, marker) -> Verdict:
    """Evaluate, store and decide the entity's audit for ds; write its marker."""
    decl = pipeline.entity(entity)
    run_id = new_run_id()
    state = decisions.read_state(warehouse.shared(), [pipeline], ds)
    stamp = decisions.stamp(state, pipeline, "audit", entity)
    try:
        files = read_entity_files(pipeline, decl, ds)
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable lake file fails the lake-side checks, visibly
        files = ValueError(f"cannot read the lake files of {pipeline.name}.{entity}: "
                           f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0]}")
    with warehouse.transaction() as cur:
        try:
            results = run_specs(cur, declared.entity_specs(pipeline, entity), pipeline, ds, files)
        except CheckDeclarationError as exc:
            results = [declaration_error(pipeline.name, entity, "audit", exc)]
        rows = staging_rows(cur, pipeline, decl, ds)
        store_results(cur, run_id, pipeline.name, ds, results)
        store_flow(cur, run_id, pipeline.name, entity, ds, None if isinstance(files, Exception) else files, rows)
        verdict = Verdict(run_id, worst(results), bool(failures(results)), summary(results), results)
        decisions.store(cur, ds, pipeline.name, "audit", entity, run_id, verdict.outcome, verdict.blocking, stamp,
                        verdict.message or None, len(results))
        marker.write(cur, len(results))
    return verdict
