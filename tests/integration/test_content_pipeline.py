"""The content pipeline end to end over one multi-day scenario, in every order the issue names.

Three daily drops (generated, plus a few explicit cases appended by ``landing``) carry exact
duplicates within and across files, late rows, GAM corrections one and two files later, title
changes, a NULL-vs-'' event pair, ads on content without events, and malformed lines. After each
ordering — in date order (local lake + local landing, and S3 lake + S3 landing), again with every
content task re-run, out of order, and as a RangeDaily backfill — the three marts must equal a
from-scratch recomputation over every landed file by the tests' own model (test_content_oracle),
and the re-run must not rewrite a single staging or mart row.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import time
from pathlib import Path

import luigi
import psycopg2
import pyarrow.parquet as pq
import pytest

from tests.conftest import luigi_settings
from tests.integration.test_content_oracle import Expected, gam_row, ga4_row, records
from workflows import RangeDaily, RunAll, warehouse
from workflows.demo.content_data import write_drop

DATES = [dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
ENTITIES = ("ga4_events", "gam_delivery", "cms_articles")
SEED, ROWS = 11, 2000
ADS_ONLY_CONTENT = 999_001  # in no GA4 file and no CMS snapshot


def build(*tasks) -> luigi.execution_summary.LuigiRunResult:
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def landing(folder: Path) -> dict[dt.date, dict[str, bytes]]:
    """The scenario's drops: generated, plus explicit cases the generator may not hold at this size:
    a NULL-vs-'' event pair, a GAM row restated later in its own file and corrected two files later,
    and ads on content that has no events."""
    files = {ds: write_drop(folder, SEED, ds, ROWS) for ds in DATES}

    def first_valid(path, parse):
        return next(f for _, f in records(path.read_text()) if parse(f) is not None)

    def append(path, *lines):
        with open(path, "a") as f:
            f.writelines(line + "\n" for line in lines)

    event = first_valid(files[DATES[1]]["ga4_events"], ga4_row)
    as_csv = ",".join("" if v is None else v for v in event[:5])
    append(files[DATES[1]]["ga4_events"],  # the same event but for page_location NULL vs '': two events
           f"{as_csv},,{','.join('' if v is None else v for v in event[6:])}",
           f'{as_csv},"",{",".join("" if v is None else v for v in event[6:])}')
    ad = first_valid(files[DATES[0]]["gam_delivery"], gam_row)
    append(files[DATES[0]]["gam_delivery"], ",".join(ad[:6] + ["888", "8", "0.888000"]))  # restated: the last line wins
    append(files[DATES[2]]["gam_delivery"], ",".join(ad[:6] + ["777", "7", "0.777000"]))  # corrected two files later
    append(files[DATES[1]]["gam_delivery"], f"{DATES[1]}T05:00:00Z,news.example.com,/x/top,LI-X,CR-X,{ADS_ONLY_CONTENT},500,5,1.250000")
    return {ds: {e: p.read_bytes() for e, p in paths.items()} for ds, paths in files.items()}


@contextlib.contextmanager
def scenario(env, tmp_path):
    """Settings for the scenario: content only, its drops in a local folder or an S3 prefix."""
    drops = landing(tmp_path / "landing")
    if env.s3 is None:
        where = str(tmp_path / "landing")
    else:
        client, bucket = env.s3
        for ds, paths in drops.items():
            for entity, body in paths.items():
                client.put_object(Bucket=bucket, Key=f"landing/{entity}_{ds:%Y%m%d}.csv", Body=body)
        where = f"s3://{bucket}/landing"
    with luigi_settings({"content": {"landing": where}, "runall": {"pipelines": '["content"]'}}):
        yield drops


def raw_files(env, dates) -> dict[dt.date, dict[str, str]]:
    return {ds: {e: env.read_lake(f"raw/content/{e}/ds={ds}/{e}.csv").decode() for e in ENTITIES} for ds in dates}


def marts(env) -> dict[str, dict]:
    article = env.query("""SELECT event_date, content_id, site, title, author, section, published_at, pageviews,
                                  sessions, users, engagement_events, engagement_time_msec FROM mart.article_daily_metrics""")
    ads = env.query("SELECT served_date, content_id, impressions, clicks, revenue_usd, ctr FROM mart.ad_daily_revenue")
    summary = env.query("""SELECT summary_date, content_id, site, title, section, pageviews, sessions, users,
                                  engagement_events, engagement_time_msec, impressions, clicks, revenue_usd, ctr, rpm_usd
                             FROM mart.daily_summary""")
    return {name: {tuple(r[:2]): tuple(r[2:]) for r in rows}
            for name, rows in (("article", article), ("ads", ads), ("summary", summary))}


def assert_converged(env, dates) -> Expected:
    """The marts equal the model's from-scratch recomputation over every file landed so far."""
    model = Expected(raw_files(env, dates))
    got = marts(env)
    assert got["article"] == model.article_daily_metrics()
    assert got["ads"] == model.ad_daily_revenue()
    assert got["summary"] == model.daily_summary()
    events = env.query("""SELECT event_at, event_name, user_pseudo_id, session_id, content_id, page_location,
                                 engagement_time_msec, device_category, country, ds FROM staging.content_ga4_events""")
    assert {tuple(r[:-1]): r[-1] for r in events} == model.first_file and len(events) == len(model.first_file)
    versions = env.query("""SELECT served_at, ad_unit, line_item, creative, content_id, ds,
                                   site, impressions, clicks, revenue_usd FROM staging.content_gam_delivery""")
    assert {tuple(r[:6]): tuple(r[6:]) for r in versions} == model.file_versions
    for ds in dates:
        for entity in ENTITIES:
            text = env.read_lake(f"quarantine/content/{entity}/ds={ds}/rejects.jsonl").decode()
            assert {json.loads(line)["line"] for line in text.splitlines()} == model.rejected.get((ds, entity), set())
    return model


def assert_scenario_has_every_case(env, drops, model: Expected) -> None:
    """Guards: the landed files really hold each case, so the equalities above are not vacuous."""
    files = raw_files(env, DATES)
    for ds in DATES:  # landed unchanged
        assert {e: t.encode() for e, t in files[ds].items()} == drops[ds]
    per_file = {ds: [ga4_row(f) for _, f in records(files[ds]["ga4_events"])] for ds in DATES}
    assert any(len(rows) > len(set(rows)) for rows in per_file.values())  # duplicates within a file
    assert set(per_file[DATES[0]]) & set(per_file[DATES[1]]) - {None}  # and across files
    assert any(r and r[0].date() < ds and r[0].date() >= DATES[0] for ds in DATES for r in per_file[ds])  # late rows
    gam = {ds: {p[0]: p[1] for p in (gam_row(f) for _, f in records(files[ds]["gam_delivery"])) if p} for ds in DATES}
    assert any(k in gam[DATES[0]] and gam[DATES[0]][k] != v for k, v in gam[DATES[2]].items())  # corrections
    titles = [{c: a[1] for c, a in Expected({ds: files[ds]}).articles.items()} for ds in DATES]
    assert any(titles[0][c] != titles[2].get(c, titles[0][c]) for c in titles[0])  # a title changed
    summary = marts(env)["summary"].values()
    assert any(s[3] == 0 and s[10] > 0 for s in summary)  # revenue of content without events is kept
    assert any(s[3] > 0 and s[8] == 0 for s in summary)  # pageviews of content without ads too
    assert env.query("SELECT count(*) FROM staging.content_ga4_events WHERE page_location = ''")[0][0] >= 1
    assert model.rejected  # malformed lines were quarantined


def rows_with_xmin(env) -> dict[str, set]:
    tables = ("staging.content_ga4_events", "staging.content_gam_delivery", "mart.article_daily_metrics",
              "mart.ad_daily_revenue", "mart.daily_summary")
    return {t: set(env.query(f"SELECT xmin::text, t::text FROM {t} t")) for t in tables}


def test_in_date_order_then_everything_again(env, tmp_path):
    with scenario(env, tmp_path) as drops:
        for i, ds in enumerate(DATES):
            build(RunAll(date=ds))
            model = assert_converged(env, DATES[: i + 1])
        assert_scenario_has_every_case(env, drops, model)
        if env.kind == "s3":
            return
        before = rows_with_xmin(env)
        env.query("DELETE FROM etl.partition_markers WHERE target LIKE %s RETURNING 1", ("%/content%",))
        for zone in ("raw", "staging", "quarantine"):
            shutil.rmtree(Path(env.lake) / zone / "content")
        for ds in DATES:
            result = build(RunAll(date=ds))
            assert "Extract(" in result.summary_text and "Load(" in result.summary_text
        assert_converged(env, DATES)
        assert rows_with_xmin(env) == before  # re-running every file rewrote no row


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_out_of_order(env, tmp_path):
    with scenario(env, tmp_path):
        for ds in (DATES[2], DATES[0], DATES[1]):
            build(RunAll(date=ds))
        assert_converged(env, DATES)  # staging too: every event's ds is still its earliest file


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_range_daily_backfill(env, tmp_path):
    now = int(time.mktime((DATES[-1] + dt.timedelta(days=2)).timetuple()))
    with scenario(env, tmp_path):
        result = build(RangeDaily(of=RunAll, start=DATES[0], stop=DATES[-1] + dt.timedelta(days=1), now=now))
        assert {t.date for t in result.worker._scheduled_tasks.values() if isinstance(t, RunAll)} == set(DATES)
        assert_converged(env, DATES)
        again = build(RangeDaily(of=RunAll, start=DATES[0], stop=DATES[-1] + dt.timedelta(days=1), now=now))
        assert not [t for t in again.worker._scheduled_tasks.values() if isinstance(t, RunAll)]


def test_merge_dedupes_by_a_typed_null_aware_timezone_independent_hash(pg_dsn, tmp_path):
    from workflows.pipelines.content import GA4_EVENTS
    from workflows.staging import engine
    from workflows.tasks.load import merge_partition

    header = ("event_timestamp,event_name,user_pseudo_id,session_id,content_id,page_location,"
              "engagement_time_msec,device_category,country")
    row = "{at},page_view,u,5,1,{loc},,,"

    def stage(name, *rows):
        raw = tmp_path / f"{name}.csv"
        raw.write_text("\n".join([header, *rows]) + "\n")
        out = tmp_path / f"{name}.parquet"
        engine.stage(GA4_EVENTS.stage_spec("UTC", 1 << 20), str(raw), str(out), str(tmp_path / f"{name}.rej"), {})
        return out

    # NULL (unquoted empty), '' and 'a,b' are three events; the second NULL one is an exact duplicate
    later_file = stage("later", *(row.format(at="2026-11-20T10:00:00.5Z", loc=v) for v in ("", '""', '"a,b"', "")))
    # the same instant written in another zone, in an earlier file: a duplicate of the '' event
    earlier_file = stage("earlier", row.format(at="2026-11-20T15:45:00.5+05:45", loc='""'))
    hashes = pq.read_table(later_file, columns=["row_hash"]).column(0).to_pylist()
    assert hashes[0] == hashes[3] and len(set(hashes)) == 3
    assert pq.read_table(earlier_file, columns=["row_hash"]).column(0).to_pylist() == [hashes[1]]

    conn = psycopg2.connect(pg_dsn)
    warehouse.migrate(conn)
    merge = warehouse.read_sql("content/merge_ga4_events.sql")

    def load(ds, path, zone="UTC", style="ISO, MDY"):
        with conn, conn.cursor() as cur:
            cur.execute("SELECT set_config('TimeZone', %s, true), set_config('DateStyle', %s, true)", (zone, style))
            merge_partition(cur, "content_ga4_events", str(path), ds, merge)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT page_location, ds FROM staging.content_ga4_events ORDER BY 1")
            return cur.fetchall()

    later, earlier = dt.date(2026, 11, 21), dt.date(2026, 11, 20)
    assert load(later, later_file) == [("", later), ("a,b", later), (None, later)]
    # merged under another session TimeZone and DateStyle: still the same event; its ds moves back
    assert load(earlier, earlier_file, zone="Asia/Kathmandu", style="SQL, DMY") == [
        ("", earlier), ("a,b", later), (None, later)]
    assert load(later, later_file) == [("", earlier), ("a,b", later), (None, later)]  # ds stays the earliest
    conn.close()


def test_daily_summary_refresh_does_not_block_readers(pg_dsn):
    refresher, reader = psycopg2.connect(pg_dsn), psycopg2.connect(pg_dsn)
    warehouse.migrate(refresher)
    with reader.cursor() as cur:
        cur.execute("SET lock_timeout = '500ms'")
    reader.commit()
    sql = warehouse.read_sql("content/refresh_daily_summary.sql")
    with refresher.cursor() as cur:
        cur.execute(sql, {"ds": DATES[0]})  # the refresh's transaction stays open, holding its lock
        with reader.cursor() as r:
            r.execute("SELECT count(*) FROM mart.daily_summary")
            assert r.fetchone() == (0,)
        reader.commit()
        cur.execute("REFRESH MATERIALIZED VIEW mart.daily_summary")  # without CONCURRENTLY readers would wait
        with reader.cursor() as r, pytest.raises(psycopg2.errors.LockNotAvailable):
            r.execute("SELECT count(*) FROM mart.daily_summary")
    refresher.rollback()
    reader.rollback()
    refresher.close()
    reader.close()
