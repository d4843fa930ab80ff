"""A content file loaded again with other contents: the GA4 and GAM merges, then the marts, on real PostgreSQL.

Files are staged by the real staging engine and merged by ``merge_partition`` with the real SQL, in
one transaction per load as Load does; the later files' staged Parquet is handed over as Load does.
Expectations are written from the rules (an event belongs to the earliest file that holds it now; a
GAM key's latest version is the latest file's that holds it now), not read from the code.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg2
import pytest

from workflows import warehouse
from workflows.pipelines.content import GA4_EVENTS, GAM_DELIVERY
from workflows.staging import engine
from workflows.tasks.load import merge_partition

GA4_HEADER = ("event_timestamp,event_name,user_pseudo_id,session_id,content_id,page_location,"
              "engagement_time_msec,device_category,country")
GAM_HEADER = "served_at,site,ad_unit,line_item,creative,content_id,impressions,clicks,revenue_usd"
D1, D2, D3 = dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)


def ev(user: str, content: int, day: dt.date = D1, engaged: str = "") -> str:
    return f"{day}T10:00:00Z,page_view,{user},1,{content},,{engaged},mobile,US"


def ad(content: int, impressions: int, creative: str = "CR") -> str:
    return f"{D1}T05:00:00Z,s,/x/top,LI,{creative},{content},{impressions},1,0.500000"


@pytest.fixture
def wh(pg_dsn, tmp_path):
    conn = psycopg2.connect(pg_dsn)
    warehouse.migrate(conn)
    staged: dict[tuple[str, dt.date], str] = {}
    merges = {e.name: warehouse.read_sql(e.merge_sql) for e in (GA4_EVENTS, GAM_DELIVERY)}
    reads = []

    def load(entity, ds, *lines):
        decl, header = (GA4_EVENTS, GA4_HEADER) if entity == "ga4_events" else (GAM_DELIVERY, GAM_HEADER)
        raw, out = tmp_path / f"{entity}-{ds}-{len(reads)}.csv", tmp_path / f"{entity}-{ds}-{len(reads)}.parquet"
        raw.write_text("\n".join([header, *lines]) + "\n")
        engine.stage(decl.stage_spec("UTC", 1 << 20), str(raw), str(out), str(tmp_path / "rej"), {})
        staged[entity, ds] = str(out)

        def later():
            for (e, d), path in sorted(staged.items()):
                if e == entity and d > ds:
                    reads.append(d)
                    yield d, path

        with conn, conn.cursor() as cur:
            merge_partition(cur, f"content_{entity}", str(out), ds, merges[entity], later_files=later)

    def query(q, params=None):
        with conn, conn.cursor() as cur:
            cur.execute(q, params)
            return cur.fetchall()

    load.query, load.reads = query, reads
    yield load
    conn.close()


def events(wh) -> dict[tuple[str, int, int | None], dt.date]:
    return {(u, c, m): ds for u, c, m, ds in wh.query(
        "SELECT user_pseudo_id, content_id, engagement_time_msec, ds FROM staging.content_ga4_events")}


def test_a_corrected_ga4_file_removes_moves_changes_and_adds(wh):
    wh("ga4_events", D1, ev("kept", 1), ev("gone", 2), ev("shared", 3), ev("changed", 4, engaged="5"),
       ev("early", 6))
    wh("ga4_events", D2, ev("shared", 3), ev("d2", 5), ev("early", 6))
    wh("ga4_events", D3, ev("shared", 3))
    assert events(wh)[("shared", 3, None)] == D1 and wh.reads == []  # in date order no later file is read
    rows = set(wh.query("SELECT xmin::text, e::text FROM staging.content_ga4_events e"))
    wh("ga4_events", D2, ev("shared", 3), ev("d2", 5), ev("early", 6))  # a re-run: nothing written, nothing read
    assert set(wh.query("SELECT xmin::text, e::text FROM staging.content_ga4_events e")) == rows and wh.reads == []

    # D1 corrected: "gone" and "shared" removed, "changed" changed, a late event for the day before added
    wh("ga4_events", D1, ev("kept", 1), ev("changed", 4, engaged="9"), ev("late", 7, day=D1 - dt.timedelta(days=1)),
       ev("early", 6))
    assert events(wh) == {("kept", 1, None): D1, ("changed", 4, 9): D1, ("late", 7, None): D1,
                          ("shared", 3, None): D2,  # the earliest file that still holds it
                          ("d2", 5, None): D2, ("early", 6, None): D1}
    assert wh.reads == [D2, D3]  # only now are the later files read
    # the keys of the rows that left (not of the moved one, whose event did not change)
    assert set(wh.query("SELECT entity, ds, key_date, content_id FROM staging.content_removed_keys")) == {
        ("ga4_events", D1, D1, 2), ("ga4_events", D1, D1, 4)}
    # D2 corrected too, without "shared": D3 holds it
    wh("ga4_events", D2, ev("d2", 5))
    assert events(wh)[("shared", 3, None)] == D3 and ("early", 6, None) in events(wh)
    # D3 corrected to nothing of it: the event leaves
    wh("ga4_events", D3, ev("d3", 8, day=D3))
    assert ("shared", 3, None) not in events(wh)
    assert ("ga4_events", D3, D1, 3) in set(wh.query("SELECT entity, ds, key_date, content_id FROM staging.content_removed_keys"))


def test_a_corrected_gam_file_drops_the_versions_of_keys_it_no_longer_holds(wh):
    wh("gam_delivery", D1, ad(1, 100), ad(2, 200), ad(3, 300))
    wh("gam_delivery", D2, ad(2, 210), ad(3, 310))
    wh("gam_delivery", D2, ad(2, 220))  # D2 corrected: key 3 no longer restated, key 2 changed
    latest = {c: (ds, i) for ds, c, i in wh.query(
        "SELECT ds, content_id, impressions FROM staging.content_gam_delivery_latest")}
    assert latest == {1: (D1, 100), 2: (D2, 220), 3: (D1, 300)}  # key 3: D1's version is the latest again
    assert set(wh.query("SELECT entity, ds, key_date, content_id FROM staging.content_removed_keys")) == {
        ("gam_delivery", D2, D1, 3)}


def test_the_marts_recompute_and_delete_the_keys_a_correction_removed(wh):
    mart = {name: warehouse.read_sql(f"content/mart_{name}.sql") for name in ("article_daily_metrics", "ad_daily_revenue")}

    def build(ds):
        for sql_text in mart.values():
            wh.query(sql_text, {"ds": ds})

    wh("ga4_events", D1, ev("a", 1), ev("b", 2), ev("c", 2))
    wh("gam_delivery", D1, ad(1, 100), ad(2, 200), ad(2, 50, creative="CR2"))
    build(D1)
    assert dict(wh.query("SELECT content_id, pageviews FROM mart.article_daily_metrics")) == {1: 1, 2: 2}
    wh("ga4_events", D1, ev("b", 2))  # corrected: content 1 loses its only event, content 2 one of two
    wh("gam_delivery", D1, ad(2, 200))  # content 1's ad gone, content 2's second creative gone
    build(D1)
    assert dict(wh.query("SELECT content_id, pageviews FROM mart.article_daily_metrics")) == {2: 1}
    assert wh.query("SELECT content_id, impressions, revenue_usd FROM mart.ad_daily_revenue") == [
        (2, 200, Decimal("0.500000"))]
