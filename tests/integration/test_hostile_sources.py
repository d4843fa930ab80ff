"""Hostile real-world input through whole pipelines (landing → staging → load → marts → checks):
every bad record quarantined alone with its rule, every good one in the warehouse, no bad value in
any staging table or mart, and the run green only because what was published is right.

Inputs are written here by hand; expectations are written from the documented rules.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import luigi
import pytest

from tests.conftest import luigi_settings
from workflows import RunAll

DS = dt.date(2026, 11, 20)
pytestmark = pytest.mark.parametrize("env", ["local"], indirect=True)


def build(*tasks):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def rejects(env, pipeline: str, entity: str) -> dict[int, str]:
    text = env.read_lake(f"quarantine/{pipeline}/{entity}/ds={DS}/rejects.jsonl").decode()
    return {r["line"]: r["rule"] for r in map(json.loads, text.splitlines())}


def no_text_value(env, schemas: tuple[str, ...], like: str, needle: str) -> None:
    """``needle`` appears in no text column of any table of ``schemas`` named like ``like``."""
    columns = env.query("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = ANY(%s) AND table_name LIKE %s AND data_type = 'text'",
                        (list(schemas), like))
    for schema, table, column in columns:
        found = env.query(f'SELECT count(*) FROM "{schema}"."{table}" WHERE position(%s in "{column}") > 0', (needle,))
        assert found == [(0,)], f"{schema}.{table}.{column} holds {needle!r}"


# ── content: CSV drops ─────────────────────────────────────────────────────────
GA4_HEADER = b"event_timestamp,event_name,user_pseudo_id,session_id,content_id,page_location,engagement_time_msec,device_category,country"
GA4_GOOD = [b"2026-11-20T%02d:00:00Z,page_view,u%d,1795168800,%d,https://x/a/%d,100,mobile,US" % (i % 24, i, 500 + i % 5, i)
            for i in range(1, 41)]
GA4_BAD = {  # line -> (text, rule)
    5: (b"2026-11-20T10:00:00Z,page_view,u-nul,1795168800,501,https://x/\x00/nul,1,mobile,US", "unrepresentable"),
    9: (b"2026-11-20T10:00:00Z,page_view,u-enc,1795168800,501,https://x/\xff\xfe,1,mobile,US", "encoding"),
    14: (b'2026-11-20T10:00:00Z,page_view,u-quote,1795168800,501,"https://x/open,1,mobile,US', "csv"),
    20: (b"0001-01-01T00:30:00+01:00,page_view,u-year,1795168800,501,,1,mobile,US", "unrepresentable"),
    25: (b"2026-11-20T10:00:00Z,page_view,u-big,99999999999999999999,501,,1,mobile,US", "unrepresentable"),
    30: (b"2026-11-20T10:00:00Z,page_view,u-short,1795168800", "csv"),
    33: (b"2026-11-20T10:00:00Z,page_view,u-huge,1795168800,501,https://x/" + b"h" * (1 << 20) + b",1,mobile,US", None),
}


def ga4_file() -> tuple[bytes, int]:
    lines, good = [GA4_HEADER], list(GA4_GOOD)
    total = len(GA4_GOOD) + len(GA4_BAD)
    for n in range(2, total + 2):
        lines.append(GA4_BAD[n][0] if n in GA4_BAD else good.pop(0))
    return b"\r\n".join(lines) + b"\r\n", total


def test_hostile_content_drop(env, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    ga4, total = ga4_file()
    (landing / f"ga4_events_{DS:%Y%m%d}.csv").write_bytes(b"\xef\xbb\xbf" + ga4)
    (landing / f"gam_delivery_{DS:%Y%m%d}.csv").write_bytes(
        b"served_at,site,ad_unit,line_item,creative,content_id,impressions,clicks,revenue_usd\n"
        b"2026-11-20T10:00:00Z,s,/u,li,cr,501,10,1,0.5\n"
        b"2026-11-20T11:00:00Z,s,/u,li,cr,501,10,1,0.1234567\n")  # 7 decimals: beyond numeric(18, 6)
    (landing / f"cms_articles_{DS:%Y%m%d}.csv").write_bytes(
        b"content_id,site,title,author,section,publish_timestamp\n"
        + b"".join(b"%d,s,T%d,,,2026-11-01T00:00:00Z\n" % (c, c) for c in range(500, 505)))
    with luigi_settings({"content": {"landing": str(landing)}, "runall": {"pipelines": '["content"]'}}):
        build(RunAll(date=DS))
    assert rejects(env, "content", "ga4_events") == {n: rule for n, (_, rule) in GA4_BAD.items() if rule}
    assert rejects(env, "content", "gam_delivery") == {3: "unrepresentable"}
    staged = env.query("SELECT user_pseudo_id, length(page_location) FROM staging.content_ga4_events WHERE ds = %s", (DS,))
    good_users = {f"u{i}" for i in range(1, 41)} | {"u-huge"}
    assert {u for u, _ in staged} == good_users and len(staged) == 41
    assert dict(staged)["u-huge"] == len("https://x/") + (1 << 20)  # a 1 MiB field, whole
    views = env.query("SELECT sum(pageviews) FROM mart.article_daily_metrics WHERE event_date = %s", (DS,))[0][0]
    assert views == 41
    for needle in ("u-nul", "u-enc", "u-quote", "u-year", "u-big", "u-short", "\ufffd"):
        no_text_value(env, ("staging", "mart"), "content%", needle)
    statuses = dict(env.query("SELECT check_name, status FROM etl.dq_results WHERE pipeline = 'content' "
                              "AND entity = 'ga4_events' AND ds = %s", (DS,)))
    assert statuses["reconciliation_raw_vs_staged"] == "pass"


# ── activity: JSON Lines drops ─────────────────────────────────────────────────
KEY = "hostile-test-key"


def event(i: int, **over) -> dict:
    return {"user_id": i, "session_id": f"s{i}", "page_url": f"/p/{i}", "action": "view",
            "timestamp": "2025-06-07T15:57:19.874687", "device_type": "mobile", "user_agent": "UA",
            "ip_address": "10.1.2.3", **over}


def test_zone_less_activity_day_stages_every_valid_line_and_hostile_lines_alone(env, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    day = dt.date(2025, 6, 7)
    lines = [json.dumps(event(i)).encode() for i in range(1, 301)]  # a real export: no zone anywhere
    bad = {
        7: (b'{"user_id": 1, "session_id": "a\\u0000b", "page_url": "/", "action": "view", '
            b'"timestamp": "2025-06-07T10:00:00", "device_type": "mobile"}', "unrepresentable"),
        8: (b'{"user_id": 1, "session_id": "\\ud800", "page_url": "/", "action": "view", '
            b'"timestamp": "2025-06-07T10:00:00", "device_type": "mobile"}', "unrepresentable"),
        9: (b'{"user_id": 1, "action": "bogus", "session_id": "x", "page_url": "/", "action": "view", '
            b'"timestamp": "2025-06-07T10:00:00", "device_type": "mobile"}', "json"),
        10: (b'{"user_id": 1, "session_id": "x", "page_url": "\xc3\x28", "action": "view", '
             b'"timestamp": "2025-06-07T10:00:00", "device_type": "mobile"}', "encoding"),
        11: (json.dumps(event(9, timestamp="0000-01-01T00:00:00Z")).encode(), "format"),
    }
    for n, (text, _) in bad.items():
        lines.insert(n - 1, text)
    (landing / f"user_activities_{day:%Y%m%d}.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    (landing / f"api_logs_{day:%Y%m%d}.jsonl").write_bytes(b"".join(
        json.dumps({"request_id": f"r{i}", "endpoint": "/api", "method": "GET", "status_code": 200,
                    "response_time": 5, "timestamp": "2025-06-07 12:00:00", "user_id": i}).encode() + b"\n"
        for i in range(1, 51)))
    with luigi_settings({"activity": {"landing": str(landing), "pseudonym_key": KEY},
                         "runall": {"pipelines": '["activity"]'}}):
        build(RunAll(date=day))
    assert {n: r for n, r in
            ((r["line"], r["rule"]) for r in map(json.loads, env.read_lake(
                f"quarantine/activity/user_activities/ds={day}/rejects.jsonl").decode().splitlines()))} == \
        {n: rule for n, (_, rule) in bad.items()}
    count = lambda t: env.query(f"SELECT count(*) FROM staging.activity_{t} WHERE ds = %s", (day,))[0][0]  # noqa: E731
    assert count("user_activities") == 300 and count("api_logs") == 50  # every valid line, zone or not
    when = env.query("SELECT min(occurred_at), max(occurred_at) FROM staging.activity_user_activities WHERE ds = %s",
                     (day,))[0]
    assert when[0] == when[1] == dt.datetime(2025, 6, 7, 15, 57, 19, 874687, tzinfo=dt.timezone.utc)
    assert env.query("SELECT sum(action_count) FROM mart.activity_action_counts WHERE ds = %s", (day,))[0][0] == 300


# ── fakestore: a real HTTP API answering hostile JSON ──────────────────────────
PRODUCTS = (b'[{"id": 1, "title": "ok", "price": 1.5, "category": "c", "rating": {"rate": 4, "count": 1}},'
            b' {"id": 2, "title": "nul\\u0000", "price": 1, "category": "c", "rating": {"rate": 4}},'
            b' {"id": 3, "title": "dup", "title": "dup2", "price": 1, "category": "c", "rating": {"rate": 4}},'
            b' {"id": 4, "title": "nan", "price": NaN, "category": "c", "rating": {"rate": 4}},'
            b' {"id": 5, "title": "\\udc00", "price": 1, "category": "c", "rating": {"rate": 4}},'
            b' {"id": 6, "title": "fine", "price": 2, "category": "c", "rating": {"rate": 5}}]')


class _Api(BaseHTTPRequestHandler):
    cut_short = [True]

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        body = {"/products": PRODUCTS, "/users": b"[]", "/carts": b"[]"}.get(path, b"[]")
        if path == "/products" and self.cut_short[0]:  # the first answer is cut short: retried
            self.cut_short[0] = False
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_hostile_api_answer(env, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with luigi_settings({"fakestore": {"base_url": url, "snapshot_max_age_days": "100000", "backoff_factor": "0"},
                             "runall": {"pipelines": '["fakestore"]'}}):
            from workflows import Load

            build(Load(date=DS, pipeline="fakestore", entity="products"))
    finally:
        server.shutdown()
    assert rejects(env, "fakestore", "products") == {2: "unrepresentable", 3: "json", 4: "json", 5: "unrepresentable"}
    assert env.query("SELECT product_id, title FROM staging.fakestore_products ORDER BY 1") == [(1, "ok"), (6, "fine")]
