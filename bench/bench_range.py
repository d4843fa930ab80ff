"""How fast RangeDaily decides a long backfill: `python bench/bench_range.py [--dates 400]`.

Starts an embedded PostgreSQL in a temp dir, marks every RunAll target done for N
dates (as N completed days leave them), then times `RangeDaily --of RunAll` over the
range (nothing to schedule), and again with one date's marker removed (one to run).
Every marker carries its code version and a sequence in graph order, so the decision checks
code versions and upstream freshness of the whole graph: one query whatever N is.
"""
from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time

import luigi
from psycopg2.extras import execute_values

from targets import lake as lake_module
from workflows import RangeDaily, RunAll, warehouse
from workflows.tasks.runall import day_graph, topological


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=400)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-range-")
    cfg = luigi.configuration.get_config()
    cfg.set("warehouse", "dsn", warehouse.embedded_dsn(f"{tmp}/pg"))
    cfg.set("lake", "root", f"{tmp}/lake")
    lake_module._S3_CLIENTS.clear()
    start = dt.date(2025, 1, 1)
    dates = [start + dt.timedelta(days=i) for i in range(args.dates)]
    stop = dates[-1] + dt.timedelta(days=1)
    now = int(time.mktime((stop + dt.timedelta(days=1)).timetuple()))
    targets = RunAll(date=start).marker_targets()
    versions, edges = day_graph()  # the whole graph: code version per target, freshness edges
    # inserted in graph order (inputs before the targets that read them), so every seq is fresh
    order = topological(versions, edges)
    with warehouse.transaction() as cur:
        execute_values(cur, "INSERT INTO etl.partition_markers (target, ds, task_family, rows, code_version) VALUES %s",
                       [(t, d, "bench", 0, versions[t]) for d in dates for t in order], page_size=10_000)
    print(f"{args.dates} dates x {len(targets)} marker targets ({len(targets) * args.dates} markers)")
    for label in ("all done", "one date missing"):
        began = time.perf_counter()
        result = luigi.build([RangeDaily(of=RunAll, start=start, stop=stop, now=now)], local_scheduler=True,
                             detailed_summary=True, workers=1) if label == "all done" else None
        if result is None:  # one date missing: only decide (do not run the day's pipelines)
            RangeDaily.clear_instance_cache()  # luigi caches task instances (and their requires)
            task = RangeDaily(of=RunAll, start=start, stop=stop, now=now)
            missing = [t.date for t in task.requires()]
            print(f"{label:>18}: decided in {time.perf_counter() - began:.3f}s -> schedules {missing}")
            continue
        ran = [t for t in result.worker._scheduled_tasks.values() if isinstance(t, RunAll)]
        print(f"{label:>18}: luigi.build done in {time.perf_counter() - began:.3f}s, RunAll scheduled: {len(ran)}")
        with warehouse.transaction() as cur:
            cur.execute("DELETE FROM etl.partition_markers WHERE ds = %s AND target = %s", (dates[200], targets[0]))


if __name__ == "__main__":
    main()
