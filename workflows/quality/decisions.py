"""The gate graph's state for one pipeline and ds, and when each step of it is complete.

Steps: ``audit`` (per entity, after its Load), ``mart`` (per mart: its build, after the audits of
its entities and the builds of the marts its checks read), ``record`` (per pipeline, after all of
them) and ``report`` (the day, after every enabled pipeline's record). Each decision is stored
in ``etl.dq_decisions`` with a ``stamp``: a hash of what it was decided from — the Load
markers' times (audit), the run ids of the decisions it read, the check declarations, the
thresholds and the mart SQL. A step is complete when its marker exists, its stamp equals the
stamp of its current inputs, and every step it read is complete. So a re-landed file, a changed
check, threshold or mart SQL makes exactly the decisions that depend on it stale; re-running
with nothing changed decides nothing again (a blocked day stays blocked, and says why).
Everything a step needs is read in one query (``read_state``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from workflows.declarations import Pipeline
from workflows.quality import declared
from workflows.quality.sanitize import message as safe_message

TARGETS = {"audit": "audit/{p}/{s}", "mart": "build/{p}/{s}", "record": "record/{p}", "report": "report/dq"}

_STATE = """
SELECT 'marker' AS kind, target, NULL AS pipeline, NULL AS step, NULL AS scope, NULL AS run_id, NULL AS stamp, NULL AS outcome,
       NULL::boolean AS blocking, NULL AS message, rows, finished_at AS at
  FROM etl.partition_markers WHERE ds = %(ds)s AND target = ANY(%(targets)s)
UNION ALL
SELECT 'decision', target, pipeline, step, scope, run_id, stamp, outcome, blocking, message, rows, decided_at
  FROM etl.dq_decisions WHERE ds = %(ds)s AND pipeline = ANY(%(pipelines)s)
"""
_UPSERT = """
INSERT INTO etl.dq_decisions (ds, pipeline, step, scope, target, run_id, outcome, blocking, stamp, message, rows)
VALUES (%(ds)s, %(pipeline)s, %(step)s, %(scope)s, %(target)s, %(run_id)s, %(outcome)s, %(blocking)s, %(stamp)s,
        %(message)s, %(rows)s)
ON CONFLICT (ds, pipeline, step, scope) DO UPDATE
   SET target = EXCLUDED.target, run_id = EXCLUDED.run_id, outcome = EXCLUDED.outcome,
       blocking = EXCLUDED.blocking, stamp = EXCLUDED.stamp, message = EXCLUDED.message, rows = EXCLUDED.rows,
       decided_at = clock_timestamp()
"""


def target(step: str, pipeline: str, scope: str = "") -> str:
    return TARGETS[step].format(p=pipeline, s=scope)


@dataclass
class Decision:
    step: str
    scope: str
    run_id: str
    stamp: str
    outcome: str
    blocking: bool
    message: str | None
    rows: int | None
    at: dt.datetime | None = None


@dataclass
class State:
    """Markers (target -> finished_at) and decisions ((pipeline, step, scope) -> Decision) of one ds."""

    ds: dt.date
    markers: dict[str, dt.datetime] = field(default_factory=dict)
    decisions: dict[tuple[str, str, str], Decision] = field(default_factory=dict)
    memo: dict = field(default_factory=dict)   # declarations read while deciding completeness, once per state

    def remember(self, key: tuple, compute):
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def decision(self, pipeline: str, step: str, scope: str = "") -> Decision | None:
        return self.decisions.get((pipeline, step, scope))


def _targets(pipeline: Pipeline) -> list[str]:
    out = [f"load/{pipeline.name}/{e}" for e in pipeline.entities]
    out += [target("audit", pipeline.name, e) for e in pipeline.entities]
    out += [target("mart", pipeline.name, m) for m in pipeline.marts]
    return out + [target("record", pipeline.name), target("report", "")]


def read_state(conn, pipelines: list[Pipeline], ds: dt.date) -> State:
    """Every marker and decision the pipelines' gate steps need for ds: one query."""
    targets = sorted({t for p in pipelines for t in _targets(p)})
    state = State(ds)
    with conn.cursor() as cur:
        cur.execute(_STATE, {"ds": ds, "targets": targets, "pipelines": [p.name for p in pipelines] + [""]})
        for kind, tgt, pipeline, step, scope, run_id, stamp, outcome, blocking, message, rows, at in cur.fetchall():
            if kind == "marker":
                state.markers[tgt] = at
            else:
                state.decisions[(pipeline, step, scope)] = Decision(step, scope, run_id, stamp, outcome, blocking,
                                                                    message, rows, at)
    return state


def _hash(*parts) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:24]


def _run(state: State, pipeline: str, step: str, scope: str = "") -> str:
    d = state.decision(pipeline, step, scope)
    return d.run_id if d else "-"


def inputs(pipeline: Pipeline, step: str, scope: str = "", state: State | None = None) -> list[tuple[str, str]]:
    """The steps (step, scope) a step reads: audit -> none (Loads only), mart -> its entities' audits
    and the builds of the marts its checks read, record -> every audit and build."""
    if step == "audit":
        return []
    if step == "mart":
        reads = (state.remember(("mart_reads", pipeline.name, scope), lambda: declared.mart_reads(pipeline, scope))
                 if state else declared.mart_reads(pipeline, scope))
        return [("audit", e) for e in pipeline.mart(scope).entities] + [("mart", m) for m in reads]
    return [("audit", e) for e in pipeline.entities] + [("mart", m) for m in pipeline.marts]


def _fingerprint(state: State, pipeline: Pipeline, step: str, scope: str) -> str:
    return state.remember(("fingerprint", pipeline.name, step, scope),
                          lambda: declared.fingerprint(pipeline, step, scope))


def stamp(state: State, pipeline: Pipeline, step: str, scope: str = "") -> str:
    """The stamp a decision of this step made now would carry."""
    if step == "audit":
        reads = state.remember(("audit_reads", pipeline.name, scope), lambda: declared.audit_reads(pipeline, scope))
        loads = [f"load/{pipeline.name}/{e}" for e in (scope, *reads)]
        return _hash("audit", _fingerprint(state, pipeline, "audit", scope),
                     *(f"{t}@{state.markers.get(t)}" for t in loads))
    parts = [f"{s}/{c}@{_run(state, pipeline.name, s, c)}" for s, c in inputs(pipeline, step, scope, state)]
    if step == "mart":
        return _hash("mart", _fingerprint(state, pipeline, "mart", scope), *parts)
    return _hash("record", *parts)


def complete(state: State, pipeline: Pipeline, step: str, scope: str = "", _seen: dict | None = None) -> bool:
    """Marker present, stamp current, and every step it read complete."""
    seen = {} if _seen is None else _seen
    key = (pipeline.name, step, scope)
    if key not in seen:
        d = state.decision(pipeline.name, step, scope)
        seen[key] = bool(
            d is not None and target(step, pipeline.name, scope) in state.markers
            and d.stamp == stamp(state, pipeline, step, scope)
            and all(complete(state, pipeline, s, c, seen) for s, c in inputs(pipeline, step, scope, state)))
    return seen[key]


def report_stamp(state: State, pipelines: list[Pipeline]) -> str:
    return _hash("report", *(f"{p.name}@{_run(state, p.name, 'record')}" for p in pipelines))


def report_complete(state: State, pipelines: list[Pipeline]) -> bool:
    d = state.decision("", "report")
    return bool(d is not None and target("report", "") in state.markers and d.stamp == report_stamp(state, pipelines)
                and all(complete(state, p, "record") for p in pipelines))


def store(cur, ds: dt.date, pipeline: str, step: str, scope: str, run_id: str, outcome: str, blocking: bool,
          stamp_: str, message: str | None = None, rows: int | None = None) -> None:
    """Upsert the step's latest decision (in the caller's transaction, with its marker)."""
    cur.execute(_UPSERT, {"ds": ds, "pipeline": pipeline, "step": step, "scope": scope,
                          "target": target(step, pipeline, scope), "run_id": run_id, "outcome": outcome,
                          "blocking": blocking, "stamp": stamp_, "message": safe_message(message), "rows": rows})
