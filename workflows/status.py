"""``make status``: the latest task runs and the state of recent partitions, from etl.task_runs.

Usage: python -m workflows.status [--days N] [--failed]   (make status DAYS=N FAILED=1)
"""
from __future__ import annotations

import argparse
import sys

from workflows import warehouse

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


def partitions(spec: str) -> int:
    """Every RunAll target's state for a date or range, from one query (targets.freshness)."""
    import datetime as dt

    from targets import freshness
    from workflows.tasks.runall import day_graph

    first, _, stop = spec.partition(":")
    start = dt.date.fromisoformat(first)
    end = dt.date.fromisoformat(stop) if stop else start + dt.timedelta(days=1)
    dates = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    nodes, edges = day_graph()
    states = freshness(warehouse.shared(), nodes, edges, dates)
    rows = [(d, t, st, why) for (d, t), (st, why) in sorted(states.items())]
    counts = {k: sum(r[2] == k for r in rows) for k in ("done", "stale", "missing")}
    print(f"Partitions {spec}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    _print([r for r in rows if r[2] != "done"] or rows, ("ds", "target", "state", "why"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--days", type=int, default=7, help="how many days back (default 7)")
    args.add_argument("--failed", action="store_true", help="only the failed runs (up to 200)")
    args.add_argument("--date", help="partition state of this ds (or --date D1:D2, stop exclusive): done / stale (why) / missing")
    opts = args.parse_args(argv)
    if opts.date:
        return partitions(opts.date)
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
