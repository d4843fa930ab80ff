"""A parallel backfill from an empty warehouse runs exactly one full load per database table
(issue 15, docs/incremental.md): the real `luigi … RangeDaily --of RunAll --workers 2` command over
three days of the bikes and library pipelines, judged from etl.source_loads and the source itself.

A backfill runs oldest first, so left alone the first date's loads usually commit before a later
date's extracts start. The test makes the race happen: it locks one source table (one the generated
days never write), so the first date's extract of it blocks inside its COPY; it waits until the
second worker's extract of the same table for a later date is waiting too (on the table's claim lock
in the warehouse), then releases the lock. Under the old rule (a first load is one with no Load
marker yet) that later extract would have been a second full load."""
from __future__ import annotations

import contextlib
import datetime as dt
import time

import psycopg2

from tests.conftest import luigi_cli
from workflows.demo import bikes_oltp
from workflows.pipelines import bikes, library

START = dt.date(2026, 11, 17)
DAYS = [START + dt.timedelta(days=n) for n in range(3)]
LOCKED = "salespersonquotahistory"  # the generated days never write it: the source can advance


def waiting(dsn: str, event: str, statement: str) -> int:
    """Sessions of the database waiting on a lock of kind ``event`` in a statement containing ``statement``."""
    return query(dsn, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND wait_event_type = 'Lock' AND wait_event = %s AND strpos(query, %s) > 0",
                 (event, statement))[0][0]


def query(dsn: str, statement: str, params=None) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def test_range_daily_with_two_workers_from_empty_runs_one_full_load_per_table(pg_dsn, tmp_path):
    cfg = (f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n[demo]\nseed = 7\nsize = 1\n"
           '[runall]\npipelines = ["bikes", "library"]\n[bikes]\nsource_dsn =\ncurrency_url =\n'
           "[library]\nsource_dsn =\n[worker]\nwait_interval = 0.1\nwait_jitter = 0.1\n")
    source = bikes_oltp.ensure(pg_dsn, 7, 1, DAYS[0])  # the source exists before the lock is taken
    locker = psycopg2.connect(source)
    try:
        locker.cursor().execute(f"LOCK TABLE sales.{LOCKED} IN ACCESS EXCLUSIVE MODE")
        proc = luigi_cli(["RangeDaily", "--of", "RunAll", "--start", str(DAYS[0]),
                          "--stop", str(DAYS[-1] + dt.timedelta(1)), "--workers", "2", "--local-scheduler"],
                         cfg, tmp_path)
        both, deadline = False, time.monotonic() + 240
        while not both and time.monotonic() < deadline and proc.poll() is None:
            # the first date's extract blocked in its COPY, a later date's waiting on the table's claim lock
            both = (waiting(source, "relation", f'"sales"."{LOCKED}"') >= 1
                    and waiting(pg_dsn, "advisory", f"etl.source_loads/bikes/{LOCKED}'") >= 1)
            time.sleep(0.2)
    finally:
        locker.rollback()
        locker.close()
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, (out + err)[-3000:]
    assert both, "the two extracts of the locked table never waited at the same time"

    loads = query(pg_dsn, "SELECT pipeline, entity, ds, mode, is_initial, reason, rows, extracted_at "
                          "FROM etl.source_loads ORDER BY extracted_at")
    tables = {("bikes", e) for e, ent in bikes.PIPELINE.entities.items() if hasattr(ent.source, "watermark")} | {
        ("library", e) for e in library.PIPELINE.entities}
    assert {(p, e) for p, e, *_ in loads} == tables and len(tables) == 21
    for pipeline, entity in tables:
        mine = [(ds, mode, initial, reason) for p, e, ds, mode, initial, reason, _, _ in loads
                if (p, e) == (pipeline, entity)]
        assert sorted(ds for ds, *_ in mine) == DAYS, (pipeline, entity)      # every day extracted once
        full = [m for m in mine if m[1] == "full"]
        assert len(full) == 1 and full[0][2] and full[0][3] == "initial", (pipeline, entity, mine)
        assert all((mode, initial, reason) == ("incremental", False, "incremental")
                   for ds, mode, initial, reason in mine if ds != full[0][0]), (pipeline, entity, mine)

    # the one full load landed the table whole: the warehouse holds every source order line, once
    assert sorted(query(pg_dsn, "SELECT sales_order_id, sales_order_detail_id FROM bikes.fact_order")) == \
        sorted(query(source, "SELECT salesorderid, salesorderdetailid FROM sales.salesorderdetail"))
    # every date of the range is done: a second run schedules nothing
    again = luigi_cli(["RangeDaily", "--of", "RunAll", "--start", str(DAYS[0]), "--stop",
                       str(DAYS[-1] + dt.timedelta(1)), "--workers", "2", "--local-scheduler"], cfg, tmp_path,
                      name="again.cfg")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, (out + err)[-3000:]
    assert query(pg_dsn, "SELECT count(*) FROM etl.source_loads") == [(len(loads),)]
