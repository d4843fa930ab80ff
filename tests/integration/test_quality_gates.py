"""Write, audit, publish: gates that stop bad data before the marts, and a report that tells the whole day.

Real embedded PostgreSQL, a real lake, real HTTP sources on 127.0.0.1; expectations are computed here
from the lake files and with independent SQL.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import luigi
import openpyxl
import pytest

from tests.conftest import luigi_cli, luigi_settings
from workflows import Check, RunAll, warehouse
from workflows.quality.run import CheckFailed, EntityFiles
from workflows.quality.store import store_flow
from workflows.tasks.audit import Audit

D0, D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20), dt.date(2026, 11, 21)
REPO = Path(__file__).resolve().parents[2]
FAKESTORE_MARTS = ("mart.fact_sales", "mart.dim_product", "mart.dim_user")
pytestmark = pytest.mark.parametrize("env", ["local"], indirect=True)


def build(*tasks, expect="SUCCESS"):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == expect, result.summary_text
    return result


def checksums(env, tables) -> dict[str, tuple]:
    """(rows, md5 of every row in text order) of each table: any change shows."""
    return {t: env.query(f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x")[0]
            for t in tables}


def workbook(env, ds):
    return openpyxl.load_workbook(io.BytesIO(env.read_lake(f"reports/dq/ds={ds}/dq_report_{ds}.xlsx")))


def cells(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(values_only=True)]


def rejects(env, pipeline, entity, ds) -> list[dict]:
    return [json.loads(x) for x in env.read_lake(f"quarantine/{pipeline}/{entity}/ds={ds}/rejects.jsonl").splitlines()]


class _BrokenStore(BaseHTTPRequestHandler):
    """A FakeStore-compatible API whose every record breaks the contract (ids that are not numbers)."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        body = json.dumps([{"id": f"x{i}", "title": "t", "price": "free"} for i in range(4)]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def broken_store():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenStore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_day_with_every_record_quarantined_is_blocked_and_no_mart_changes(env, only_fakestore, broken_store):
    build(RunAll(date=D0))
    before = checksums(env, FAKESTORE_MARTS)
    assert all(n > 0 for n, _ in before.values())
    with luigi_settings({"fakestore": {"base_url": broken_store, "snapshot_max_age_days": "100000"}}):
        build(RunAll(date=D1), expect="FAILED")
        with pytest.raises(CheckFailed) as failed:
            Check(date=D1, pipeline="fakestore").run()
    assert checksums(env, FAKESTORE_MARTS) == before  # nothing of the day published
    assert not env.query("SELECT target FROM etl.partition_markers WHERE ds = %s AND target LIKE 'mart/%%'", (D1,))

    for entity in ("carts", "products", "users"):
        raw = json.loads(env.read_lake(f"raw/fakestore/{entity}/ds={D1}/{entity}.json"))["records"]
        assert len(rejects(env, "fakestore", entity, D1)) == len(raw) == 4  # every record quarantined
        assert (f"{entity}.volume_staged_when_raw [volume, fail] on staging.fakestore_{entity}: "
                f"observed raw 4 records, staged 0") in str(failed.value)
        assert f"{entity}.quarantine_share [quarantine_share, fail]" in str(failed.value)
    statuses = dict(env.query("SELECT entity || '.' || check_name, status FROM etl.dq_results r "
                              "WHERE ds = %s AND check_name IN ('volume_staged_when_raw', 'quarantine_share')", (D1,)))
    assert set(statuses.values()) == {"fail"} and len(statuses) == 6

    wb = workbook(env, D1)
    ws = wb["Summary"]
    assert ws["B3"].value == "FAIL"
    assert "fakestore blocked at audit of carts, products, users (3 marts not published)" in ws["C3"].value
    named = {(r[2], r[3]): r for r in cells(ws) if r[3] in ("volume_staged_when_raw", "quarantine_share")}
    assert named[("carts", "volume_staged_when_raw")][4:6] == (
        "fail", "nothing staged: 4 of 4 raw records quarantined, 0 staged")
    assert named[("users", "quarantine_share")][6:8] == ("4 of 4 records (100.0%)", "<= 50% (warn above 5%)")
    row = next(r for r in cells(ws) if r[0] == "fakestore" and r[1] == "blocked")
    assert row[2] == "0 of 3" and "fact_sales (held back)" in row[5]


def test_a_mart_check_failure_rolls_the_mart_back_and_records_its_samples(env, only_fakestore):
    build(RunAll(date=D0))
    before = checksums(env, ["mart.fact_sales"])
    build(Audit(date=D1, pipeline="fakestore", entity="carts"))  # the carts of D1 pass their audit...
    cart = env.query("SELECT min(cart_id) FROM staging.fakestore_carts WHERE ds = %s", (D1,))[0][0]
    lines = env.query("UPDATE staging.fakestore_carts SET quantity = -quantity WHERE ds = %s AND cart_id = %s "
                      "RETURNING product_id", (D1, cart))  # ...then a defect slips in: negative line totals
    assert lines
    build(RunAll(date=D1), expect="FAILED")

    assert checksums(env, ["mart.fact_sales"]) == before  # exactly as it was: the transaction rolled back
    assert not env.query("SELECT 1 FROM mart.fact_sales WHERE ds = %s", (D1,))
    assert env.query("SELECT count(*) FROM mart.dim_product WHERE last_seen_ds = %s", (D1,))[0][0] > 0  # published
    status, failing, sample = env.query(
        "SELECT status, failing_count, failing_sample FROM etl.dq_results WHERE ds = %s AND step = 'mart' "
        "AND entity = 'fact_sales' AND check_name = 'range_line_total'", (D1,))[0]
    assert (status, failing) == ("fail", len(lines))
    assert {s["cart_id"] for s in sample} == {cart} and all(float(s["line_total"]) < 0 for s in sample)
    assert env.query("SELECT outcome, blocking FROM etl.dq_decisions WHERE ds = %s AND step = 'mart' "
                     "AND scope = 'fact_sales'", (D1,)) == [("rolled_back", True)]

    wb = workbook(env, D1)
    summary = cells(wb["Summary"])
    assert next(r for r in summary if r[0] == "fakestore" and r[1] == "blocked")[3] == "mart fact_sales"
    failing_row = next(r for r in summary if r[3] == "range_line_total")
    assert failing_row[1:5] == ("mart", "fact_sales", "range_line_total", "fail")
    samples = [r for r in cells(wb["Failing samples"]) if r[2] == "range_line_total"]
    assert len(samples) == min(len(lines), 5) and all(r[5].startswith("line_total=-") for r in samples)


def _activity_drops(folder: Path, ds: dt.date, activities: bytes, api_logs: bytes) -> None:
    (folder / f"user_activities_{ds:%Y%m%d}.jsonl").write_bytes(activities)
    (folder / f"api_logs_{ds:%Y%m%d}.jsonl").write_bytes(api_logs)


def _event(i: int, **over) -> dict:
    return {"user_id": i, "session_id": f"s{i}", "page_url": f"/p/{i}", "action": "view",
            "timestamp": "2026-11-20T10:00:00Z", "device_type": "mobile", **over}


def test_an_empty_drop_warns_and_a_day_that_stages_nothing_fails(env, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    checks_dir = tmp_path / "schemas"
    shutil.copytree(REPO / "workflows" / "schemas", checks_dir)
    _activity_drops(landing, D0, b"", b"")
    _activity_drops(landing, D1, b"", b"".join(b'{"request_id": %d, oops\n' % i for i in range(30)))
    _activity_drops(landing, D2, b"", b"")
    settings = {"activity": {"landing": str(landing), "pseudonym_key": "k"}, "runall": {"pipelines": '["activity"]'}}
    with luigi_settings(settings):
        build(RunAll(date=D0))  # empty drops: published (empty), but not green
        wb = workbook(env, D0)
        assert wb["Summary"]["B3"].value == "WARN"
        warned = {(r[2], r[3]) for r in cells(wb["Summary"]) if r[4] == "warn"}
        assert {("user_activities", "volume_raw_present"), ("api_logs", "volume_raw_present")} <= warned

        build(RunAll(date=D1), expect="FAILED")  # every api_logs line quarantined: nothing staged
    rows = dict(env.query("SELECT check_name, status FROM etl.dq_results r JOIN etl.dq_latest_runs USING (ds, pipeline, run_id) "
                          "WHERE r.ds = %s AND r.entity = 'api_logs'", (D1,)))
    assert rows["volume_staged_when_raw"] == rows["quarantine_share"] == "fail"
    assert len(rejects(env, "activity", "api_logs", D1)) == 30
    held = dict(env.query("SELECT scope, outcome FROM etl.dq_decisions WHERE ds = %s AND step = 'mart'", (D1,)))
    assert {m for m, o in held.items() if o == "held_back"} == {
        "activity_status_code_counts", "activity_endpoint_latency", "activity_requests_per_user", "activity_user_day"}
    assert {o for m, o in held.items() if m in ("activity_action_counts", "activity_page_visits")} == {"published"}

    # where an empty drop must fail, it is declared: the declared check replaces the default warning
    path = checks_dir / "activity" / "user_activities.checks.json"
    doc = json.loads(path.read_text())
    doc["checks"].append({"type": "volume", "rule": "raw_present", "severity": "error"})
    path.write_text(json.dumps(doc))
    with luigi_settings({**settings, "quality": {"checks_dir": str(checks_dir)}}):
        build(RunAll(date=D2), expect="FAILED")
    assert env.query("SELECT status FROM etl.dq_results r JOIN etl.dq_latest_runs USING (ds, pipeline, run_id) "
                     "WHERE r.ds = %s AND r.entity = 'user_activities' AND check_name = 'volume_raw_present'",
                     (D2,)) == [("fail",)]


def test_one_pipeline_blocked_the_others_published_and_the_workbook_covers_all(env, tmp_path, broken_store):
    cfg = (f"[warehouse]\ndsn = {env.dsn}\n[lake]\nroot = {env.lake}\n[demo]\nseed = 7\n"
           f"[fakestore]\nbase_url = {broken_store}\nsnapshot_max_age_days = 100000\n"
           f"[activity]\ndemo_lines = 300\npseudonym_key = k\ndemo_landing = {tmp_path / 'gen'}\n"
           f'[runall]\npipelines = ["fakestore", "activity"]\n')
    proc = luigi_cli(["RunAll", "--date", str(D1), "--local-scheduler", "--no-lock"], cfg, tmp_path)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 30, err[-3000:]  # [retcode] task_failed: a gate failed
    assert "volume_staged_when_raw" in err

    marts = [m for (m,) in env.query("SELECT target FROM etl.partition_markers WHERE ds = %s AND target LIKE 'mart/%%'",
                                     (D1,))]
    assert sorted(marts) == sorted(f"mart/activity/{m}" for m in (
        "activity_action_counts", "activity_page_visits", "activity_device_counts", "activity_user_action_intervals",
        "activity_status_code_counts", "activity_endpoint_latency", "activity_requests_per_user", "activity_user_day"))
    staged = env.query("SELECT count(*) FROM staging.activity_user_activities WHERE ds = %s", (D1,))[0][0]
    assert env.query("SELECT sum(action_count) FROM mart.activity_action_counts WHERE ds = %s", (D1,))[0][0] == staged > 0
    stored = dict(env.query("SELECT pipeline, count(*) FROM etl.dq_results WHERE ds = %s GROUP BY 1", (D1,)))
    assert stored["activity"] > 20 and stored["fakestore"] > 10

    ws = workbook(env, D1)["Summary"]
    assert ws["A2"].value == "Covers all 2 enabled pipelines: fakestore, activity"
    outcomes = {r[0]: r[1] for r in cells(ws) if r[0] in ("fakestore", "activity") and r[1] in ("pass", "warn", "blocked")}
    assert outcomes["fakestore"] == "blocked" and outcomes["activity"] in ("pass", "warn")


def test_nul_a_lone_surrogate_and_a_megabyte_in_a_sample_are_stored_and_reported(env, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    checks_dir = tmp_path / "schemas"
    shutil.copytree(REPO / "workflows" / "schemas", checks_dir)
    path = checks_dir / "activity" / "user_activities.checks.json"
    doc = json.loads(path.read_text())
    doc["checks"].append({"type": "expression", "name": "page_url_printable", "expression": "page_url !~ '[[:cntrl:]]'",
                          "key": ["line_no"], "columns": ["page_url"], "severity": "warn"})
    path.write_text(json.dumps(doc))
    hostile = _event(99, session_id="s\u0000x", page_url="/\ud800", user_agent="u" * (1 << 20))
    lines = [_event(i) for i in range(20)] + [hostile, _event(21, page_url="/p\u0001q")]
    _activity_drops(landing, D1, "\n".join(map(json.dumps, lines)).encode() + b"\n", b"")
    with luigi_settings({"activity": {"landing": str(landing), "pseudonym_key": "k"},
                         "runall": {"pipelines": '["activity"]'}, "quality": {"checks_dir": str(checks_dir)}}):
        build(RunAll(date=D1))
    [reject] = rejects(env, "activity", "user_activities", D1)
    assert reject["line"] == 21
    stored = env.query("SELECT sample::text FROM etl.dq_quarantine WHERE ds = %s AND entity = 'user_activities'", (D1,))
    assert len(stored) == 1 and "\\u0000" in stored[0][0] and len(stored[0][0]) < 20_000
    sample = env.query("SELECT status, failing_sample FROM etl.dq_results WHERE ds = %s AND check_name = 'page_url_printable'",
                       (D1,))
    assert sample == [("warn", [{"line_no": 22, "page_url": "/p\\u0001q"}])]
    wb = workbook(env, D1)
    assert any(r[3] == "page_url_printable" for r in cells(wb["Summary"]))
    assert any("page_url=\"/p\\\\u0001q\"" == r[5] for r in cells(wb["Failing samples"]))

    # recording itself survives raw NUL, lone surrogates and huge values, whatever a stager wrote
    raw = {"rule": "type", "reason": "bad \x00 '\ud800'", "line": 1, "units": 1,
           "record": {"a": "x\x00y", "b": "\udc80", "c": "z" * (1 << 20), "\x00k": [1] * 1000}}
    files = EntityFiles(raw_units=2, raw_fields=set(), staged_rows=1, quarantined=[raw], parquet_rows=1, unit="lines")
    with warehouse.transaction() as cur:
        store_flow(cur, "hostile-run", "activity", "user_activities", D1, files, 1)
    [(record,)] = env.query("SELECT sample -> 0 -> 'record' FROM etl.dq_quarantine WHERE run_id = 'hostile-run'")
    assert record["a"] == "x\\u0000y" and record["b"] == "\\udc80" and len(record["c"]) < 300
    assert record["\\u0000k"][-1] == "… 980 more"


def test_a_blocked_day_is_decided_again_when_its_threshold_changes(env, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    good = [json.dumps(_event(i)).encode() for i in range(8)]
    _activity_drops(landing, D1, b"\n".join(good + [b'{"broken": ' for _ in range(12)]) + b"\n", b"")
    settings = {"activity": {"landing": str(landing), "pseudonym_key": "k"}, "runall": {"pipelines": '["activity"]'}}
    with luigi_settings(settings):
        build(RunAll(date=D1), expect="FAILED")  # 12 of 20 lines quarantined: 60% > 50%
        build(RunAll(date=D1), expect="FAILED")  # nothing changed: the same decision, still blocked
    shares = "SELECT status FROM etl.dq_results WHERE ds = %s AND entity = 'user_activities' " \
             "AND check_name = 'quarantine_share' ORDER BY id"
    assert env.query(shares, (D1,)) == [("fail",)]  # not evaluated twice
    assert not env.query("SELECT 1 FROM mart.activity_action_counts WHERE ds = %s", (D1,))
    with luigi_settings({**settings, "quality": {"max_quarantine_share": "0.7"}}):
        build(RunAll(date=D1))  # the owner accepts up to 70%: audited again, published
    assert env.query(shares, (D1,)) == [("fail",), ("warn",)]
    assert env.query("SELECT sum(action_count) FROM mart.activity_action_counts WHERE ds = %s", (D1,)) == [(8,)]
    assert workbook(env, D1)["Summary"]["B3"].value == "WARN"
