"""A parallel backfill from an empty warehouse runs exactly one full load per database table
(issue 15, docs/incremental.md): the real `luigi … RangeDaily --of RunAll --workers 2` command over
three days of the bikes and library pipelines, judged from etl.source_loads and the source itself."""
from __future__ import annotations

import contextlib
import datetime as dt
import json

import psycopg2
from psycopg2.extensions import make_dsn, parse_dsn

from tests.conftest import luigi_cli
from workflows.pipelines import bikes, library

START = dt.date(2026, 11, 17)
DAYS = [START + dt.timedelta(days=n) for n in range(3)]


def query(dsn: str, statement: str, params=None) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def test_range_daily_with_two_workers_from_empty_runs_one_full_load_per_table(pg_dsn, tmp_path):
    cfg = (f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n[demo]\nseed = 7\nsize = 1\n"
           '[runall]\npipelines = ["bikes", "library"]\n[bikes]\nsource_dsn =\ncurrency_url =\n'
           "[library]\nsource_dsn =\n[worker]\nwait_interval = 0.1\nwait_jitter = 0.1\n")
    proc = luigi_cli(["RangeDaily", "--of", "RunAll", "--start", str(DAYS[0]), "--stop", str(DAYS[-1] + dt.timedelta(1)),
                      "--workers", "2", "--local-scheduler"], cfg, tmp_path)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, (out + err)[-3000:]

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

    # the race was real: for some tables a later date's extract started before the claim's Load had
    # committed (when a "first load" meant "no Load marker yet", such an extract was a second full load)
    lake = tmp_path / "lake"
    raced = []
    for pipeline, entity in sorted(tables):
        claim = next(ds for p, e, ds, mode, *_ in loads if (p, e) == (pipeline, entity) and mode == "full")
        loaded = query(pg_dsn, "SELECT finished_at FROM etl.partition_markers WHERE target = %s AND ds = %s",
                       (f"load/{pipeline}/{entity}", claim))[0][0]
        starts = [dt.datetime.fromisoformat(json.loads(path.read_text())["started_at"])
                  for path in lake.glob(f"raw/{pipeline}/{entity}/ds=*/{entity}.csv.meta.json")
                  if f"ds={claim}" not in str(path)]
        raced += [(pipeline, entity)] if min(starts) < loaded else []
    print("extracts started before the claim's Load committed:", len(raced), "of", len(tables), raced)

    # the one full load landed the table whole: the warehouse holds every source order line, once
    source = make_dsn(pg_dsn, dbname=f"{parse_dsn(pg_dsn)['dbname']}_bikes_oltp")
    assert sorted(query(pg_dsn, "SELECT sales_order_id, sales_order_detail_id FROM bikes.fact_order")) == \
        sorted(query(source, "SELECT salesorderid, salesorderdetailid FROM sales.salesorderdetail"))
    # every date of the range is done: a second run schedules nothing
    again = luigi_cli(["RangeDaily", "--of", "RunAll", "--start", str(DAYS[0]), "--stop",
                       str(DAYS[-1] + dt.timedelta(1)), "--workers", "2", "--local-scheduler"], cfg, tmp_path,
                      name="again.cfg")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, (out + err)[-3000:]
    assert query(pg_dsn, "SELECT count(*) FROM etl.source_loads") == [(len(loads),)]
