"""Content exports follow late rows: Export for ds rewrites the existing exports of the earlier dates
whose mart rows the files of ds changed (late GA4 events, GAM corrections, CMS title changes).

The scenario of test_content_pipeline (three drops with late rows, a GAM row corrected two files
later, title changes) runs through the real Export task in date order; after every run each
export in the lake equals that date's rows of the tests' own model (test_content_oracle) over the
drops delivered so far — computed from the drop files, never from what the code staged.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from decimal import Decimal

import psycopg2
import pytest

from tests.conftest import luigi_settings
from tests.integration.test_content_oracle import Expected
from tests.integration.test_content_pipeline import DATES, build, scenario

MARTS = ("article_daily_metrics", "ad_daily_revenue")


def export(ds: dt.date):
    from workflows.tasks.export import Export

    return Export(date=ds, pipeline="content")


def modelled(drops, delivered, day) -> dict[str, set[tuple]]:
    """Each mart's rows of ``day`` in the model over the ``delivered`` drops, as (key…, values…)."""
    model = Expected({ds: {e: body.decode() for e, body in drops[ds].items()} for ds in delivered})
    return {"article_daily_metrics": {k + v for k, v in model.article_daily_metrics().items() if k[0] == day},
            "ad_daily_revenue": {k + v for k, v in model.ad_daily_revenue().items() if k[0] == day}}


def comparable(value):
    """A model value as the export writes it: numbers as JSON numbers, dates and instants as ISO text
    (instants compared as instants: the text's offset is the session's)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value.isoformat() if isinstance(value, dt.date) else value


def exported(env, day) -> dict[str, set[tuple]]:
    out = {}
    for m in MARTS:
        doc = json.loads(env.read_lake(f"exports/content/ds={day}/{m}.json"))
        assert doc["row_count"] == len(doc["records"])
        rows = [tuple(dt.datetime.fromisoformat(r[c]).timestamp() if c == "published_at" and r[c] else r[c]
                      for c in doc["columns"]) for r in doc["records"]]
        out[m] = set(rows)
        assert len(rows) == len(out[m])
    return out


def export_bytes(env, day) -> dict[str, bytes]:
    return {f: env.read_lake(f"exports/content/ds={day}/{f}") for f in ("manifest.json", *(f"{m}.json" for m in MARTS))}


RETITLED = 999_002  # events on DATES[0] only; retitled by the snapshot of DATES[1] (and no later one)


def add_retitled_article(tmp_path, drops) -> None:
    """A title change that reaches an earlier date through the CMS snapshot alone (no GA4 or GAM
    row of a later file on that article's date)."""
    lines = {(DATES[0], "ga4_events"): f"{DATES[0]}T12:00:00Z,page_view,u-retitled,1,{RETITLED},,5,desktop,US",
             (DATES[0], "cms_articles"): f"{RETITLED},news.example.com,Old title,A. Author,news,2026-11-01T00:00:00Z",
             (DATES[1], "cms_articles"): f"{RETITLED},news.example.com,New title,A. Author,news,2026-11-01T00:00:00Z"}
    for (ds, entity), line in lines.items():
        path = tmp_path / "landing" / f"{entity}_{ds:%Y%m%d}.csv"
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        drops[ds][entity] = path.read_bytes()


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_an_export_rewrites_the_earlier_exports_its_files_changed(env, tmp_path):
    with scenario(env, tmp_path) as drops:
        add_retitled_article(tmp_path, drops)
        for i, ds in enumerate(DATES):
            build(export(ds))
            for day in DATES[: i + 1]:
                want = {m: {tuple(map(comparable, r)) for r in rows} for m, rows in modelled(drops, DATES[: i + 1], day).items()}
                got = exported(env, day)
                for m in MARTS:
                    assert got[m] == want[m], (ds, day, m, sorted(got[m] ^ want[m], key=str)[:4])
        # the later files did change the first date's rows of both marts after its own export ran
        first, last = modelled(drops, DATES[:1], DATES[0]), modelled(drops, DATES, DATES[0])
        assert all(first[m] != last[m] for m in MARTS)
        assert {r[3] for r in last["article_daily_metrics"] if r[1] == RETITLED} == {"New title"}
        assert not any(r[1] == RETITLED for d in DATES[1:] for r in modelled(drops, DATES, d)["article_daily_metrics"])
        # the rewritten files are what Export(DATES[0]) writes now: a forced re-run writes the same bytes
        before = {d: export_bytes(env, d) for d in DATES}
        export(DATES[0]).run()
        export(DATES[1]).run()
        assert {d: export_bytes(env, d) for d in DATES} == before


HEADERS = {"ga4_events": "event_timestamp,event_name,user_pseudo_id,session_id,content_id,page_location,"
                         "engagement_time_msec,device_category,country",
           "gam_delivery": "served_at,site,ad_unit,line_item,creative,content_id,impressions,clicks,revenue_usd",
           "cms_articles": "content_id,site,title,author,section,publish_timestamp"}


def tiny_drops(tmp_path):
    """Two days of hand-made drops: an article with events on the first date only, retitled by the
    second date's snapshot; no late GA4 or GAM row."""
    d0, d1 = DATES[0], DATES[1]
    rows = {d0: {"ga4_events": [f"{d0}T12:00:00Z,page_view,u1,1,{RETITLED},,5,desktop,US"],
                 "gam_delivery": [f"{d0}T12:00:00Z,news.example.com,/x,LI-1,CR-1,{RETITLED},100,2,0.500000"],
                 "cms_articles": [f"{RETITLED},news.example.com,Old title,A. Author,news,2026-11-01T00:00:00Z"]},
            d1: {"ga4_events": [f"{d1}T12:00:00Z,page_view,u2,1,7,,5,mobile,DE"],
                 "gam_delivery": [f"{d1}T12:00:00Z,news.example.com,/x,LI-1,CR-1,7,50,1,0.250000"],
                 "cms_articles": [f"{RETITLED},news.example.com,New title,A. Author,news,2026-11-01T00:00:00Z",
                                  "7,news.example.com,Other,B. Author,news,2026-11-01T00:00:00Z"]}}
    landing = tmp_path / "landing"
    landing.mkdir()
    drops = {}
    for ds, files in rows.items():
        for entity, lines in files.items():
            path = landing / f"{entity}_{ds:%Y%m%d}.csv"
            path.write_text("\n".join([HEADERS[entity], *lines]) + "\n", encoding="utf-8")
            drops.setdefault(ds, {})[entity] = path.read_bytes()
    return landing, drops


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_a_title_change_alone_rewrites_the_earlier_export(env, tmp_path):
    """No late GA4 or GAM row: the second snapshot retitles an article of the first date only."""
    d0, d1 = DATES[0], DATES[1]
    landing, drops = tiny_drops(tmp_path)
    with luigi_settings({"content": {"landing": str(landing)}, "runall": {"pipelines": '["content"]'}}):
        build(export(d0))
        assert {r[3] for r in exported(env, d0)["article_daily_metrics"]} == {"Old title"}
        build(export(d1))
        want = {tuple(map(comparable, r)) for r in modelled(drops, [d0, d1], d0)["article_daily_metrics"]}
        assert {r[3] for r in want} == {"New title"} and exported(env, d0)["article_daily_metrics"] == want


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_the_snapshot_is_taken_after_the_export_lock(env, tmp_path):
    """An export waiting for the pipeline's export lock reads the marts as they are when it gets the
    lock: a change committed while it waits is in the files it writes (so the last writer of a
    date's files never holds an older snapshot than an earlier writer)."""
    d0, d1 = DATES[0], DATES[1]
    landing, _ = tiny_drops(tmp_path)
    with luigi_settings({"content": {"landing": str(landing)}, "runall": {"pipelines": '["content"]'}}):
        build(export(d0), export(d1))
        with contextlib.closing(psycopg2.connect(env.dsn)) as holder:
            holder.autocommit = True
            with holder.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(hashtextextended('export/content', 0))")
            task = export(d1)
            worker = threading.Thread(target=task.run)
            worker.start()
            deadline = time.monotonic() + 30
            while not env.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
                assert time.monotonic() < deadline and worker.is_alive(), "the export never waited for the lock"
                time.sleep(0.05)
            # a mart change committed while the export waits (as a concurrent Mart run would)
            env.query("UPDATE mart.article_daily_metrics SET title = 'Changed while waiting' "
                      "WHERE event_date = %s AND content_id = %s RETURNING 1", (d0, RETITLED))
            with holder.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(hashtextextended('export/content', 0))")
            worker.join(60)
        assert not worker.is_alive()
        assert {r[3] for r in exported(env, d0)["article_daily_metrics"]} == {"Changed while waiting"}
