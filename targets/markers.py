"""Postgres partition markers: ``etl.partition_markers`` rows written with the data they mark.

A marker is (target, ds) -> rows, finished_at, code_version, seq. ``write`` runs inside the
caller's transaction, so data and marker commit (or roll back) together, and an upsert means
re-running a partition replaces the marker with its data. Every write takes a new ``seq`` from
one sequence, so "produced after" is a comparison of two numbers.

A marker is *fresh* when it exists, its ``code_version`` equals the current one, and no marker
of an input it read (same ds) has a higher ``seq`` (was re-materialised after it). ``exists``
answers that for one marker; ``fresh_dates`` for a whole graph of targets and many dates, and
``freshness`` (why each is stale) — each in one query.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Sequence

import luigi


_UPSERT = """
INSERT INTO etl.partition_markers (target, ds, task_family, rows, finished_at, code_version, seq)
VALUES (%s, %s, %s, %s, clock_timestamp(), %s, nextval('etl.partition_marker_seq'))
ON CONFLICT (target, ds) DO UPDATE
   SET task_family = EXCLUDED.task_family, rows = EXCLUDED.rows, finished_at = EXCLUDED.finished_at,
       code_version = EXCLUDED.code_version, seq = EXCLUDED.seq
"""

_ONE = """
SELECT m.code_version IS NOT DISTINCT FROM %(version)s,
       NOT EXISTS (SELECT 1 FROM etl.partition_markers i
                    WHERE i.ds = m.ds AND i.target = ANY(%(inputs)s) AND i.seq > m.seq)
  FROM etl.partition_markers m
 WHERE m.target = %(target)s AND m.ds = %(ds)s
"""

# The graph: nodes (target, version) and edges (target reads input), passed as arrays; the
# markers of every node and date read once. A date is done when every node has a marker with
# the node's version and no input of the node is newer than it.
_GRAPH = """
WITH node AS (SELECT * FROM unnest(%(targets)s::text[], %(versions)s::text[]) AS n(target, version)),
     edge AS (SELECT * FROM unnest(%(edge_targets)s::text[], %(edge_inputs)s::text[]) AS e(target, input)),
     mk AS (SELECT m.target, m.ds, m.seq, m.finished_at, m.code_version IS NOT DISTINCT FROM n.version AS same_code
              FROM etl.partition_markers m JOIN node n USING (target)
             WHERE m.ds = ANY(%(dates)s::date[]))
"""
_FRESH_DATES = _GRAPH + """,
     stale AS (SELECT DISTINCT o.ds FROM edge JOIN mk o ON o.target = edge.target
                                     JOIN mk i ON i.target = edge.input AND i.ds = o.ds
                WHERE i.seq > o.seq)
SELECT mk.ds
  FROM mk
 WHERE mk.ds NOT IN (SELECT ds FROM stale)
 GROUP BY mk.ds
HAVING count(*) FILTER (WHERE mk.same_code) = %(n)s
"""
_FRESHNESS = _GRAPH + """
SELECT mk.ds, mk.target, mk.same_code, mk.finished_at,
       (SELECT array_agg(i.target ORDER BY i.target) FROM edge JOIN mk i ON i.target = edge.input AND i.ds = mk.ds
         WHERE edge.target = mk.target AND i.seq > mk.seq) AS newer_inputs
  FROM mk
"""


class PartitionMarker(luigi.Target):
    """Marks that ``target`` holds the complete partition ``ds``, made by code ``version`` from the
    markers ``inputs`` (target names of the same ds; a list, or a callable giving it when
    ``exists`` asks). ``connection()`` gives an autocommit connection for reading markers."""

    def __init__(self, target: str, ds: dt.date, task_family: str = "",
                 connection: Callable[[], Any] | None = None, version: str | Callable[[], str] | None = None,
                 inputs: Sequence[str] | Callable[[], Sequence[str]] = ()):
        self.target = target
        self.ds = ds
        self.task_family = task_family or target.split("/", 1)[0]
        self.connection = connection
        self._version = version
        self._inputs = inputs

    def __repr__(self) -> str:
        return f"PartitionMarker({self.target!r}, {self.ds})"

    @property
    def version(self) -> str | None:
        return self._version() if callable(self._version) else self._version

    @property
    def inputs(self) -> list[str]:
        return sorted(set(self._inputs() if callable(self._inputs) else self._inputs))

    def exists(self) -> bool:
        """Present, made by the current code, and newer than every input marker it read."""
        with self.connection().cursor() as cur:
            cur.execute(_ONE, {"version": self.version, "inputs": self.inputs, "target": self.target, "ds": self.ds})
            row = cur.fetchone()
        return bool(row and row[0] and row[1])

    def write(self, cur, rows: int) -> None:
        """Upsert the marker in the caller's transaction (cursor ``cur``), with a new seq."""
        cur.execute(_UPSERT, (self.target, self.ds, self.task_family, int(rows), self.version))


def _graph_params(nodes: dict[str, str | None], edges: Iterable[tuple[str, str]], dates) -> dict:
    edges = sorted(set(edges))
    return {"targets": list(nodes), "versions": list(nodes.values()), "edge_targets": [e[0] for e in edges],
            "edge_inputs": [e[1] for e in edges], "dates": sorted(set(dates)), "n": len(nodes)}


def fresh_dates(conn, nodes: dict[str, str | None], edges: Iterable[tuple[str, str]],
                dates: Iterable[dt.date]) -> set[dt.date]:
    """Dates on which every node (target -> current code version) is fresh: one query.

    ``edges`` are (target, input target) pairs: the target read that input on the same ds."""
    dates = sorted(set(dates))
    if not nodes or not dates:
        return set(dates) if not nodes else set()
    with conn.cursor() as cur:
        cur.execute(_FRESH_DATES, _graph_params(nodes, edges, dates))
        return {row[0] for row in cur.fetchall()}


def freshness(conn, nodes: dict[str, str | None], edges: Iterable[tuple[str, str]],
              dates: Iterable[dt.date]) -> dict[tuple[dt.date, str], tuple[str, str]]:
    """(ds, target) -> (state, why) for every node and date: ``done``, ``stale`` (why: code changed,
    or which inputs are newer) or ``missing``. One query."""
    dates = sorted(set(dates))
    out = {(d, t): ("missing", "no marker") for d in dates for t in nodes}
    if not nodes or not dates:
        return out
    with conn.cursor() as cur:
        cur.execute(_FRESHNESS, _graph_params(nodes, edges, dates))
        for ds, target, same_code, finished_at, newer in cur.fetchall():
            if not same_code:
                out[(ds, target)] = ("stale", "code changed")
            elif newer:
                out[(ds, target)] = ("stale", "input newer: " + ", ".join(newer))
            else:
                out[(ds, target)] = ("done", f"finished {finished_at:%Y-%m-%d %H:%M:%S}")
    return out


# Exactly what freshness reads of a ds (target, seq, code_version of every marker), as one short digest.
_DS_VERSION = """
SELECT count(*), md5(coalesce(string_agg(target || '|' || seq || '|' || coalesce(code_version, '-'), ','
                                         ORDER BY target), ''))
  FROM etl.partition_markers WHERE ds = %s
"""


def ds_version(conn, ds: dt.date) -> tuple:
    """A digest of every marker of ``ds`` as freshness reads it (target, seq, code version): equal
    digests give equal freshness, so it keys a cache of the ds's freshness. One indexed query."""
    with conn.cursor() as cur:
        cur.execute(_DS_VERSION, (ds,))
        return tuple(cur.fetchone())


def fresh_upstream(conn, nodes: dict[str, str | None], edges: Iterable[tuple[str, str]],
                   order: Sequence[str], ds: dt.date) -> dict[str, bool]:
    """target -> True when every marker it depends on (its inputs, transitively) is fresh on ``ds``;
    ``order``: the targets, inputs first. One query (``freshness``)."""
    states = freshness(conn, nodes, edges, [ds])
    reads: dict[str, list[str]] = {t: [] for t in nodes}
    for target, inp in edges:
        reads[target].append(inp)
    ok: dict[str, bool] = {}
    for t in order:
        ok[t] = all(states[(ds, i)][0] == "done" and ok[i] for i in reads[t])
    return ok


_PRESENT = """
SELECT ds FROM etl.partition_markers WHERE target = ANY(%s) AND ds = ANY(%s)
 GROUP BY ds HAVING count(DISTINCT target) = %s
"""


def completed_dates(conn, targets: Iterable[str], dates: Iterable[dt.date]) -> set[dt.date]:
    """Dates for which every one of ``targets`` has a marker, whatever its version: one query."""
    targets, dates = sorted(set(targets)), sorted(set(dates))
    if not targets or not dates:
        return set(dates) if not targets else set()
    with conn.cursor() as cur:
        cur.execute(_PRESENT, (targets, dates, len(targets)))
        return {row[0] for row in cur.fetchall()}
