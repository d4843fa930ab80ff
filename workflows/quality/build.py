"""Write, audit, publish one mart for ds: its SQL and its checks in one transaction, committed only if they pass.

- An entity the mart reads failed its audit: the mart is **held back** (its SQL does not run).
- Otherwise the SQL merges the ds into the mart and the mart's checks run on the new state,
  inside the same transaction. No blocking result: results, decision, the mart's ``mart/…``
  marker (published) and the build's marker commit with the data. A blocking result (or an SQL
  error): the transaction is **rolled back**, so the previous state stays visible, and the
  results with their samples, the decision and the build's marker are recorded in a separate
  transaction.
Connection-level errors (a lost connection, a deadlock) still fail the task, so it is retried.
"""
from __future__ import annotations

import datetime as dt

import psycopg2

from workflows import layout, warehouse
from workflows.declarations import Pipeline
from workflows.quality import decisions, declared
from workflows.quality.audit import Verdict, declaration_error, summary, worst
from workflows.quality.checks import CheckDeclarationError, CheckSpec
from workflows.quality.run import CheckResult, failures, run_specs
from workflows.quality.sanitize import text
from workflows.quality.store import new_run_id, store_results


class _RollBack(Exception):
    """Leave the mart's transaction without committing."""


def _sql_error(pipeline: str, mart: str, exc: psycopg2.Error) -> CheckResult:
    spec = CheckSpec(pipeline, mart, "mart_sql", "build", "error", f"sql/{mart}", "mart", None, step="mart")
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return CheckResult(spec, status="error", message=text(f"the mart's SQL failed: {first}", 500))


def held_back_by(state: decisions.State, pipeline: Pipeline, mart: str) -> list[str]:
    """The entities of the mart whose current audit blocks."""
    out = []
    for entity in pipeline.mart(mart).entities:
        d = state.decision(pipeline.name, "audit", entity)
        if d is None or d.blocking:
            out.append(entity)
    return out


def build_mart(pipeline: Pipeline, mart: str, ds: dt.date, build_marker) -> Verdict:
    """Hold back, publish or roll back the mart for ds; always record the decision and the build's marker."""
    state = decisions.read_state(warehouse.shared(), [pipeline], ds)
    stamp = decisions.stamp(state, pipeline, "mart", mart)
    run_id = new_run_id()
    published = layout.marker(f"mart/{pipeline.name}/{mart}", ds, "Mart")
    blockers = held_back_by(state, pipeline, mart)
    if blockers:
        reasons = "; ".join(f"audit of {e} failed ({state.decision(pipeline.name, 'audit', e).message})"
                            if state.decision(pipeline.name, "audit", e) else f"audit of {e} missing" for e in blockers)
        verdict = Verdict(run_id, "held_back", True, f"held back: {reasons}", [])
        with warehouse.transaction() as cur:
            decisions.store(cur, ds, pipeline.name, "mart", mart, run_id, "held_back", True, stamp, verdict.message, 0)
            build_marker.write(cur, 0)
        return verdict
    try:
        specs = declared.mart_specs(pipeline, mart)
    except CheckDeclarationError as exc:
        specs, results = [], [declaration_error(pipeline.name, mart, "mart", exc)]
    else:
        results = []
    statement = warehouse.read_sql(pipeline.mart(mart).sql)
    rows = None
    conn = warehouse.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"mart/{pipeline.name}/{mart}",))
            if not results:
                try:
                    cur.execute(statement, {"ds": ds})
                    rows = cur.fetchone()[0]  # each mart file ends by counting the ds's rows
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    raise
                except psycopg2.Error as exc:
                    results = [_sql_error(pipeline.name, mart, exc)]
                    raise _RollBack from None
                results = run_specs(cur, specs, pipeline, ds)
            if failures(results):
                raise _RollBack
            store_results(cur, run_id, pipeline.name, ds, results)
            verdict = Verdict(run_id, "published", False, summary(results), results)
            decisions.store(cur, ds, pipeline.name, "mart", mart, run_id, "published", False, stamp,
                            verdict.message or None, rows)
            build_marker.write(cur, rows)
            published.write(cur, rows)   # after the build's marker: the published mart is newer than its build
            return verdict
    except _RollBack:
        pass
    finally:
        conn.close()
    verdict = Verdict(run_id, "rolled_back", True, f"rolled back: {summary(results)}", results)
    with warehouse.transaction() as cur:
        store_results(cur, run_id, pipeline.name, ds, results)
        decisions.store(cur, ds, pipeline.name, "mart", mart, run_id, "rolled_back", True, stamp, verdict.message, rows)
        build_marker.write(cur, 0)
    return verdict


__all__ = ["build_mart", "held_back_by", "worst"]
