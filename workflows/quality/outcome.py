"""A pipeline's day in one decision: passed, warned, or blocked at which step (audit, mart) and why.

``record`` stores it (``etl.dq_decisions`` step ``record``) with the record's marker once every
audit and mart build of the pipeline has decided; ``gate_message`` is what the failing ``Check``
says: one line per blocking check and per mart held back or rolled back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workflows import warehouse
from workflows.declarations import Pipeline
from workflows.quality import decisions
from workflows.quality.store import new_run_id

_FAILING = """
SELECT r.entity, r.check_name, r.check_type, r.status, coalesce(r.checked_table, '-'), r.observed, r.threshold,
       r.message, r.step
  FROM etl.dq_results r JOIN etl.dq_latest_runs l USING (ds, pipeline, run_id)
 WHERE r.ds = %s AND r.pipeline = %s AND (r.status = 'error' OR (r.status = 'fail' AND r.severity = 'error'))
 ORDER BY r.step, r.entity, r.check_name
"""


@dataclass
class Outcome:
    pipeline: str
    status: str                                               # pass | warn | blocked
    blocked_audits: list[str] = field(default_factory=list)   # entities whose audit blocks
    held_back: list[str] = field(default_factory=list)        # marts not built: an entity they read was blocked
    rolled_back: list[str] = field(default_factory=list)      # marts whose own checks (or SQL) failed

    @property
    def blocking(self) -> bool:
        return self.status == "blocked"

    def describe(self) -> str:
        parts = []
        if self.blocked_audits:
            parts.append(f"blocked at audit of {', '.join(self.blocked_audits)}")
        if self.rolled_back:
            parts.append(f"rolled back at mart {', '.join(self.rolled_back)}")
        if self.held_back:
            parts.append(f"held back: {', '.join(self.held_back)}")
        return "; ".join(parts) or self.status


def outcome_of(state: decisions.State, pipeline: Pipeline) -> Outcome:
    audits = {e: state.decision(pipeline.name, "audit", e) for e in pipeline.entities}
    builds = {m: state.decision(pipeline.name, "mart", m) for m in pipeline.marts}
    out = Outcome(pipeline.name, "pass")
    out.blocked_audits = [e for e, d in audits.items() if d is None or d.blocking]
    out.held_back = [m for m, d in builds.items() if d is None or d.outcome == "held_back"]
    out.rolled_back = [m for m, d in builds.items() if d is not None and d.outcome == "rolled_back"]
    if out.blocked_audits or out.held_back or out.rolled_back:
        out.status = "blocked"
    elif any(d.outcome == "warn" for d in audits.values() if d) or any(
            d.message for d in builds.values() if d and d.outcome == "published"):
        out.status = "warn"
    return out


def record(pipeline: Pipeline, ds: dt.date, marker) -> Outcome:
    """Store the pipeline's outcome for ds (the record step) and its marker."""
    state = decisions.read_state(warehouse.shared(), [pipeline], ds)
    out = outcome_of(state, pipeline)
    with warehouse.transaction() as cur:
        decisions.store(cur, ds, pipeline.name, "record", "", new_run_id(), out.status, out.blocking,
                        decisions.stamp(state, pipeline, "record"), out.describe())
        marker.write(cur, len(out.blocked_audits) + len(out.held_back) + len(out.rolled_back))
    return out


def gate_message(pipeline: Pipeline, ds: dt.date, out: Outcome) -> str:
    """Why the pipeline's gate failed: every blocking check (current decisions) and every mart not published."""
    with warehouse.shared().cursor() as cur:
        cur.execute(_FAILING, (ds, pipeline.name))
        failing = cur.fetchall()
    lines = [f"{pipeline.name} ds={ds} blocked ({out.describe()}): {len(failing)} data-quality check(s) failed:"]
    for scope, name, ctype, status, table, observed, threshold, message, step in failing:
        what = message if status == "error" else f"observed {observed}; expected {threshold}"
        lines.append(f"  - {scope}.{name} [{ctype}, {status}] on {table}: {what}")
    for mart in out.held_back:
        lines.append(f"  - mart {mart} held back (an entity it reads failed its audit): not published for ds")
    for mart in out.rolled_back:
        lines.append(f"  - mart {mart} rolled back: its previous state stays published")
    return "\n".join(lines)
