"""``make status``: the latest task runs (etl.task_runs), and the state of every partition of a date or range.

Usage: python -m workflows.status [--days N] [--failed]   (make status DAYS=N FAILED=1)
       python -m workflows.status --date D[:D2]           (make status DATE_STATE=D[:D2]; D2 exclusive)
       luigi --module workflows Status --date D [--stop D2] [--all] --local-scheduler   (the same, as a task)

A partition (a RunAll marker target on a ds) is ``done``, ``stale`` — ``code changed`` (made by
another code version), ``input newer: …`` (an input was re-materialised after it) or ``upstream
redone: …`` (its own marker is fresh, but an input is stale or missing, so the next run redoes it
after that input) — or ``missing``. Read with one query (targets.freshness) whatever the range.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys

import luigi

from workflows import warehouse
from workflows.config import OptionalDateParameter

_SUMMARY = """
SELECT ds, task_family, count(*) FILTER (WHERE status = 'success') AS ok,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       sum(rows_out) FILTER (WHERE status = 'success') AS rows_out,
       sum(rows_quarantined) AS quarantined, round(sum(seconds)::numeric, 1) AS seconds,
       max(finished_at) AS last_finished
  FROM etl.task_runs
 WHERE ds > current_date - %(days)s
 GROUP BY ds, task_family
 ORDER BY ds DESC, task_family
"""
_FAILED = """
SELECT finished_at, task_id, left(error, 160) FROM etl.task_runs
 WHERE status = 'failed' AND finished_at > now() - make_interval(days => %(days)s)
 ORDER BY finished_at DESC LIMIT %(limit)s
"""


def _print(rows, header) -> None:
    table = [tuple(map(str, header))] + [tuple("" if v is None else str(v) for v in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def states(dates: list[dt.date]) -> dict[tuple[dt.date, str], tuple[str, str]]:
    """(ds, target) -> (state, why) for every RunAll target on ``dates``: the markers' own freshness
    (one query), then ``upstream redone`` for a fresh marker whose inputs (transitively) will be redone."""
    from targets import freshness
    from workflows.tasks.runall import day_graph, topological

    nodes, edges = day_graph()
    out = freshness(warehouse.shared(), nodes, edges, dates)
    reads: dict[str, list[str]] = {t: [] for t in nodes}
    for target, inp in edges:
        reads[target].append(inp)
    order = topological(nodes, set(edges))
    for d in dates:
        for t in order:  # inputs first: their final state is known when a reader is looked at
            redone = sorted(i for i in reads[t] if out[(d, i)][0] != "done")
            if out[(d, t)][0] == "done" and redone:
                out[(d, t)] = ("stale", "upstream redone: " + ", ".join(redone))
    return out


def date_range(start: dt.date, stop: dt.date | None) -> list[dt.date]:
    end = stop or start + dt.timedelta(days=1)
    if end <= start:
        raise ValueError(f"the stop date {end} must be after {start} (stop is exclusive)")
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def partitions(spec: str, show_done: bool = False) -> int:
    """Print every RunAll target's state for ``D`` or ``D1:D2`` (D2 exclusive): a count line, then the
    targets not done (all of them with ``show_done``, or when everything is done)."""
    first, _, stop = spec.partition(":")
    dates = date_range(dt.date.fromisoformat(first), dt.date.fromisoformat(stop) if stop else None)
    rows = [(d, t, st, why) for (d, t), (st, why) in sorted(states(dates).items())]
    counts = {k: sum(r[2] == k for r in rows) for k in ("done", "stale", "missing")}
    print(f"Partitions {spec}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    _print([r for r in rows if show_done or r[2] != "done"] or rows, ("ds", "target", "state", "why"))
    return 0


class Status(luigi.Task):
    """Print what is done, stale (and why) or missing for a date or range; changes nothing. Runs every
    time it is asked (never complete beforehand)."""

    date = luigi.DateParameter(description="The ds (or the first of a range)")
    stop = OptionalDateParameter(default=None, description="Day after the last ds of a range (exclusive)")
    all = luigi.BoolParameter(default=False, description="List the done targets too")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._finished = False

    def complete(self) -> bool:
        return self._finished

    def run(self):
        date_range(self.date, self.stop)  # a bad range fails here, in one line
        partitions(f"{self.date}:{self.stop}" if self.stop else str(self.date), show_done=self.all)
        sys.stdout.flush()
        self._finished = True


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    args.add_argument("--failed", action="store_true", help="only the failed runs (up to 200)")
    args.add_argument("--date", help="partition state of this ds (or --date D1:D2, stop exclusive): done / stale (why) / missing")
    args.add_argument("--all", action="store_true", help="with --date: list the done targets too")
    opts = args.parse_args(argv)
    if opts.date:
        return partitions(opts.date, show_done=opts.all)
    if opts.days < 1:
        args.error(f"--days must be at least 1, not {opts.days}")
    try:
        conn = warehouse.connect()
    except RuntimeError as exc:  # unreachable warehouse, embedded server that cannot start: one line
        print(f"status: {exc}", file=sys.stderr)
        return 1
    try:
        with conn.cursor() as cur:
            if not opts.failed:
                cur.execute(_SUMMARY, {"days": opts.days})
                rows = cur.fetchall()
                print(f"Task runs by ds and task family, last {opts.days} days:")
                _print(rows, ("ds", "task", "ok", "failed", "rows_out", "quarantined", "seconds", "last_finished"))
                print()
            cur.execute(_FAILED, {"days": opts.days, "limit": 200 if opts.failed else 20})
            failed = cur.fetchall()
            print(f"Failed runs, last {opts.days} days: {len(failed) or 'none'}")
            if failed:
                _print(failed, ("finished_at", "task_id", "error"))
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
