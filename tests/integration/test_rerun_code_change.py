"""Issue 14 acceptance: changed mart SQL re-runs exactly that mart and what reads it, on every done date.

A copy of the project tree (the package, its SQL and luigi.cfg) runs the real ``luigi`` command
(``RangeDaily --of RunAll``) over 30 dates of the content and fakestore pipelines against a real
embedded PostgreSQL and a local lake. Then one line of the copy's ``mart_ad_daily_revenue.sql``
changes (CTR rounded to 4 decimals instead of 6) and the same command runs again. What it redid is
read twice, independently of the code's graph: the markers whose sequence number changed (every
marker write takes a new one), and the run log rows written by that luigi process (its pid). The
expected set is written here from the pipelines' shape.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[2]
START, DAYS = dt.date(2026, 10, 1), 30
DATES = [START + dt.timedelta(days=i) for i in range(DAYS)]
STOP = DATES[-1] + dt.timedelta(days=1)
MART_SQL = "workflows/sql/content/mart_ad_daily_revenue.sql"
OLD_CTR, NEW_CTR = "round(clicks::numeric / nullif(impressions, 0), 6)", "round(clicks::numeric / nullif(impressions, 0), 4)"

# What reads ad_daily_revenue on a ds, from the pipelines' declarations and the README's road:
# the mart's build (SQL + its checks, in one transaction) and its published marker, the
# daily_summary view that joins it, the content check record and its gate, the DQ report (the
# whole day, every pipeline), and the deliverables packs (each pack carries the DQ report).
EXPECTED = {
    "build/content/ad_daily_revenue", "mart/content/ad_daily_revenue", "mart/content/daily_summary",
    "record/content", "check/content", "report/dq", "pack/content", "pack/fakestore",
}


def query(dsn: str, text: str, params=None) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(text, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def copy_project(dest: Path) -> Path:
    """The project as a checkout holds it (package, SQL, schemas, luigi.cfg, setup.cfg): a test copy."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("workflows", "targets", "reports"):
        shutil.copytree(REPO / folder, dest / folder, ignore=ignore)
    for name in ("luigi.cfg", "setup.cfg", "pyproject.toml"):
        shutil.copy2(REPO / name, dest / name)
    return dest


def backfill(project: Path, cfg: Path) -> int:
    """RangeDaily --of RunAll over the 30 dates; the luigi process's pid (its run-log rows carry it)."""
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(cfg), "PYTHONPATH": str(project)}
    proc = subprocess.Popen([sys.executable, "-m", "luigi", "--module", "workflows", "RangeDaily", "--of", "RunAll",
                             "--start", str(START), "--stop", str(STOP), "--local-scheduler", "--no-lock"],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, (out + err)[-3000:]
    return proc.pid


def markers(dsn: str) -> dict[tuple[str, dt.date], tuple[int, str]]:
    return {(t, d): (s, v) for t, d, s, v in query(dsn, "SELECT target, ds, seq, code_version FROM etl.partition_markers")}


def table_sums(dsn: str, tables) -> dict[str, str]:
    return {t: query(dsn, f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x")[0][0]
            for t in tables}


OTHER_TABLES = ("mart.article_daily_metrics", "mart.fact_sales", "mart.dim_product", "mart.dim_user",
                "staging.content_ga4_events", "staging.content_gam_delivery", "staging.fakestore_carts")


def test_changed_mart_sql_reruns_exactly_that_mart_and_its_readers_on_30_done_dates(pg_dsn, tmp_path):
    project = copy_project(tmp_path / "project")
    cfg = tmp_path / "run.cfg"
    cfg.write_text(f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
                   "[demo]\nseed = 7\nsize = 1\n[fakestore]\nbase_url =\n"
                   '[runall]\npipelines = ["content", "fakestore"]\n'
                   f"[cli]\nlog_dir = {tmp_path / 'logs'}\n")
    # the copy, not the checkout, is what luigi imports
    probe = subprocess.run([sys.executable, "-c", "import workflows; print(workflows.__file__)"], cwd=project,
                           env={**os.environ, "PYTHONPATH": str(project)}, capture_output=True, text=True)
    assert probe.stdout.strip() == str(project / "workflows" / "__init__.py"), (probe.stdout, probe.stderr)

    began = time.perf_counter()
    backfill(project, cfg)
    first_run = time.perf_counter() - began
    before = markers(pg_dsn)
    assert {d for _, d in before} == set(DATES)
    targets = {t for t, _ in before}
    assert EXPECTED <= targets and len(targets) > len(EXPECTED) + 20  # the whole graph of both pipelines
    assert all(len([1 for t, d in before if d == ds]) == len(targets) for ds in DATES)
    six = query(pg_dsn, "SELECT count(*) FROM mart.ad_daily_revenue WHERE ctr <> round(ctr, 4)")[0][0]
    assert six > 0  # the old SQL's 6-decimal CTRs are there: the change below is visible in the data
    others = table_sums(pg_dsn, OTHER_TABLES)

    sql_file = project / MART_SQL
    text = sql_file.read_text()
    assert text.count(OLD_CTR) == 1
    sql_file.write_text(text.replace(OLD_CTR, NEW_CTR))

    began = time.perf_counter()
    pid = backfill(project, cfg)
    second_run = time.perf_counter() - began
    after = markers(pg_dsn)
    assert set(after) == set(before)
    redone = {(t, d) for (t, d), (seq, _) in after.items() if seq != before[(t, d)][0]}
    assert redone == {(t, d) for t in EXPECTED for d in DATES}, sorted(redone ^ {(t, d) for t in EXPECTED for d in DATES})[:20]
    # the new code version is on the mart's markers only; every other marker kept its version
    changed_version = {t for (t, d), (_, v) in after.items() if v != before[(t, d)][1]}
    assert changed_version == {"build/content/ad_daily_revenue", "mart/content/ad_daily_revenue"}

    # the run log of that luigi process: exactly those tasks, once each, on those dates (wrappers aside)
    runs = query(pg_dsn, "SELECT task_family, ds, status FROM etl.task_runs WHERE pid = %s", (pid,))
    work = [(f, d, s) for f, d, s in runs if f not in ("RunAll", "RangeDaily")]
    assert {s for _, _, s in work} == {"success"}
    assert len(work) == len(EXPECTED) * DAYS, (len(work), sorted({f for f, _, _ in work}))
    assert {d for _, d, _ in work} == set(DATES)

    # the new SQL is what made every row (CTR at 4 decimals, recomputed here from the row's own sums)
    rows = query(pg_dsn, "SELECT clicks, impressions, ctr FROM mart.ad_daily_revenue")
    assert rows and all(ctr == (None if not i else (Decimal(c) / Decimal(i)).quantize(Decimal("0.0001"), ROUND_HALF_UP))
                        for c, i, ctr in rows)
    assert table_sums(pg_dsn, OTHER_TABLES) == others  # nothing else was rewritten

    # and the range is done again: a third run schedules nothing
    pid = backfill(project, cfg)
    assert [f for f, in query(pg_dsn, "SELECT task_family FROM etl.task_runs WHERE pid = %s", (pid,))
            if f not in ("RunAll", "RangeDaily")] == []
    print(f"\n30 dates: first backfill {first_run:.1f}s, re-run after the SQL change {second_run:.1f}s")
