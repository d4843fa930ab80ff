"""Activity staging on tiny inline JSONL: every line staged or quarantined with its line number and reason;
the fast pre-check never accepts what the JSON Schema rejects; landing counts and fields."""
import datetime as dt
import hashlib
import hmac
import io
import json

import pyarrow.parquet as pq
import pytest

from tests.conftest import luigi_settings
from workflows.demo import activity_data
from workflows.pipelines.activity import API_LOGS, USER_ACTIVITIES, landing
from workflows.declarations import load_schema
from workflows.pipelines.activity.validation import prefilter
from workflows.stage import validator

DS = dt.date(2026, 11, 20)
KEY = "unit-test-key"


def pseudo(uid) -> str:
    return hmac.new(KEY.encode(), str(uid).encode(), hashlib.sha256).hexdigest()


def event(**over):
    rec = {"user_id": 7, "session_id": "s1", "page_url": "/cart", "action": "view",
           "timestamp": "2026-11-20T12:00:00+02:00", "device_type": "mobile", "user_agent": "UA", "ip_address": "1.2.3.4"}
    return {**rec, **over}


def request(**over):
    rec = {"request_id": "r1", "endpoint": "/api/v1/cart", "method": "GET", "status_code": 200, "response_time": 12.5,
           "timestamp": "2026-11-20T10:00:00Z", "user_id": "7"}
    return {**rec, **over}


def stage(entity, lines: list[str], tmp_path, **settings):
    raw, out = tmp_path / "raw.jsonl", tmp_path / "out.parquet"
    raw.write_text("\n".join(lines) + "\n")
    with luigi_settings({"activity": {"pseudonym_key": KEY, **settings}}):
        rows, rejects = entity.stager(entity, str(raw), str(out), DS)
    table = pq.read_table(out)
    assert table.num_rows == rows
    return table.to_pylist(), rejects


def test_user_activities_good_and_bad_lines(tmp_path):
    lines = [
        json.dumps(event()),                                          # 1 ok
        "",                                                           # 2 blank: not a record
        '{"user_id": 7, "session_id": "s1", "page_u',                 # 3 truncated
        json.dumps(event(action="hover")),                            # 4 unknown action
        json.dumps({k: v for k, v in event().items() if k != "device_type"}),  # 5 missing field
        json.dumps(event(timestamp="2026-11-20T10:00:00")),           # 6 no zone
        json.dumps(event(timestamp="2026-02-30T10:00:00Z")),          # 7 impossible date
        json.dumps(event(user_id="42", ip_address="2001:db8:1:2::3", user_agent=None)),  # 8 ok, id as text
        json.dumps(event(ip_address="300.1.1.1")),                    # 9 bad IP
        "[1, 2]",                                                     # 10 JSON, not an object
        json.dumps(event(user_id=True)),                              # 11 bool is not an id
    ]
    rows, rejects = stage(USER_ACTIVITIES, lines, tmp_path)
    assert rows == [
        {"line_no": 1, "user_pseudo_id": pseudo(7), "session_id": "s1", "page_url": "/cart", "action": "view",
         "device_type": "mobile", "occurred_at": dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc),
         "user_agent": "UA", "ip_address_masked": "1.2.3.0"},
        {"line_no": 8, "user_pseudo_id": pseudo(42), "session_id": "s1", "page_url": "/cart", "action": "view",
         "device_type": "mobile", "occurred_at": dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc),
         "user_agent": None, "ip_address_masked": "2001:db8:1::"},
    ]
    got = {r["line"]: (r["rule"], r["reason"]) for r in rejects}
    assert sorted(got) == [3, 4, 5, 6, 7, 9, 10, 11]
    column = lines[2].index('"page_u') + 1
    assert got[3] == ("json", f"not JSON: Unterminated string starting at (column {column})")
    assert got[4] == ("schema", "$.action: 'hover' is not one of ['view', 'click', 'add_to_cart', 'purchase']")
    assert got[5] == ("schema", "$: 'device_type' is a required property")
    assert got[6][0] == "schema" and "does not match" in got[6][1]
    assert got[7] == ("parse", "timestamp: '2026-02-30T10:00:00Z' is not a valid ISO 8601 instant (day is out of range for month)")
    assert got[9] == ("parse", "ip_address: '300.1.1.1' is not an IPv4 or IPv6 address")
    assert got[10] == ("schema", "$: [1, 2] is not of type 'object'")
    assert got[11][0] == "schema"
    # no raw id or full IP in the quarantine: ids pseudonymised, IPs masked, text lines blanked
    by_line = {r["line"]: r["record"] for r in rejects}
    assert by_line[4]["user_id"] == pseudo(7) and by_line[4]["ip_address"] == "1.2.3.0"
    assert by_line[3] == '{"user_id": "<redacted>", "session_id": "s1", "page_u'
    assert by_line[9]["ip_address"] == "<redacted>"


def test_api_logs_duplicates_ranges_and_strict_json(tmp_path):
    lines = [
        json.dumps(request()),                                   # 1 ok
        json.dumps(request(request_id="r2", status_code=999)),   # 2 out of range
        json.dumps(request(request_id="r3", response_time=-1)),  # 3 negative
        json.dumps(request()),                                   # 4 replay of r1
        '{"request_id": "r5", "endpoint": "/x", "method": "GET", "status_code": 200, "response_time": NaN, '
        '"timestamp": "2026-11-20T10:00:00Z", "user_id": 1}',   # 5 NaN is not JSON
        json.dumps(request(request_id="r6", status_code=101.0, response_time=3)),  # 6 ok: 101.0 is an integer
        json.dumps(request(request_id="r7", method="FETCH")),    # 7 unknown method
        json.dumps(request(request_id="r8", status_code=503, user_id=7, timestamp="2026-11-20 06:00:00-04:00")),  # 8 ok
    ]
    rows, rejects = stage(API_LOGS, lines, tmp_path)
    assert [(r["line_no"], r["request_id"], r["status_code"], r["response_class"], r["response_time_ms"]) for r in rows] == [
        (1, "r1", 200, "success", 12.5), (6, "r6", 101, "informational", 3.0), (8, "r8", 503, "server_error", 12.5)]
    assert rows[0]["user_pseudo_id"] == rows[2]["user_pseudo_id"] == pseudo(7)  # "7" and 7: one user
    assert rows[2]["requested_at"] == dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
    got = {r["line"]: (r["rule"], r["reason"]) for r in rejects}
    assert got == {
        2: ("schema", "$.status_code: 999 is greater than the maximum of 599"),
        3: ("schema", "$.response_time: -1 is less than the minimum of 0"),
        4: ("duplicate_key", "duplicate request_id 'r1': an earlier line was staged"),
        5: ("json", "not JSON: NaN is not a JSON number"),
        7: ("schema", "$.method: 'FETCH' is not one of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']"),
    }


def test_full_and_fast_validation_and_batch_sizes_give_the_same_result(tmp_path):
    buf = io.StringIO()
    activity_data.write_api_logs(buf, 3, DS, 1500, 0.3)
    lines = buf.getvalue().splitlines()
    fast = stage(API_LOGS, lines, tmp_path, validation="fast")
    full = stage(API_LOGS, lines, tmp_path, validation="full", batch_rows="7")
    assert fast == full
    rows, rejects = fast
    assert len(rows) + len(rejects) == len(lines) and len(rejects) > 300
    assert {r["rule"] for r in rejects} == {"json", "schema", "duplicate_key"}


EDGE_CASES = [
    event(), event(user_id=0), event(user_id=-1), event(user_id=1.0), event(user_id=True), event(user_id=""),
    event(user_id="a b"), event(user_id="x" * 65), event(user_id=None), event(user_id=[1]), event(action=None),
    event(action=1), event(device_type="MOBILE"), event(page_url=""), event(session_id="s" * 129), event(timestamp=""),
    event(timestamp="2026-11-20T10:00:00.Z"), event(timestamp="2026-11-20T10:00:00+5"), event(user_agent=None),
    event(user_agent=5), event(ip_address=None), event(ip_address="x" * 46), event(extra_field={"a": 1}),
    request(), request(status_code=100), request(status_code=599), request(status_code=99), request(status_code=600),
    request(status_code=200.0), request(status_code=200.5), request(status_code="200"), request(status_code=False),
    request(response_time=0), request(response_time=86_400_000), request(response_time=86_400_000.5),
    request(response_time=-0.0), request(response_time=True), request(endpoint="api/v1"), request(request_id=""),
    request(user_id=2**70), {}, {"user_id": 1}, [], "text", None, 3,
]


@pytest.mark.parametrize("entity", [USER_ACTIVITIES, API_LOGS], ids=lambda e: e.name)
def test_prefilter_never_accepts_what_the_schema_rejects(entity):
    buf = io.StringIO()
    activity_data.WRITERS[entity.name](buf, 11, DS, 3000, 0.5)
    corpus = [json.loads(line) for line in buf.getvalue().splitlines() if _is_json(line)] + EDGE_CASES
    quick, check = prefilter(load_schema(entity.schema)), validator(entity.schema)
    accepted = [r for r in corpus if quick(r)]
    assert all(check.is_valid(r) for r in accepted)
    # and it is a real fast path: it accepts almost every valid generated record
    valid = [r for r in corpus if check.is_valid(r)]
    assert len(accepted) >= 0.95 * len(valid) > 1000


def _is_json(line: str) -> bool:
    """Strict JSON, as staging decodes it (NaN would pass jsonschema's minimum: staging rejects it earlier)."""
    try:
        json.loads(line, parse_constant=_no_constant)
        return True
    except ValueError:
        return False


def _no_constant(name):
    raise ValueError(name)


def test_prefilter_refuses_keywords_it_cannot_check():
    with pytest.raises(ValueError, match="format"):
        prefilter({"type": "object", "properties": {"ip": {"type": "string", "format": "ipv4"}}})
    with pytest.raises(ValueError, match="oneOf"):
        prefilter({"type": "object", "oneOf": []})


def test_landing_scan_counts_non_blank_lines_and_keys(tmp_path):
    path = tmp_path / "drop.jsonl"
    path.write_text('{"a": 1, "b": 2}\n\n   \nnot json\n{"c": 3}\n[1]\n{"a": 2}')  # no final newline
    assert landing.scan(str(path)) == (5, ["a", "b", "c"])


def test_missing_drop_is_a_clear_error(tmp_path):
    with luigi_settings({"activity": {"landing": str(tmp_path)}}):
        with pytest.raises(landing.DropMissing, match=r"no activity drop at .*api_logs_20261120\.jsonl"):
            landing.land(API_LOGS, DS, str(tmp_path / "out.jsonl"))


def test_a_line_that_is_not_utf8_is_quarantined(tmp_path):
    raw, out = tmp_path / "raw.jsonl", tmp_path / "out.parquet"
    good = json.dumps(request()).encode()
    raw.write_bytes(good + b"\n" + b'{"request_id": "r\xff2"}\n' + good.replace(b'"r1"', b'"r3"') + b"\r\n")
    with luigi_settings({"activity": {"pseudonym_key": KEY}}):
        rows, rejects = API_LOGS.stager(API_LOGS, str(raw), str(out), DS)
    assert rows == 2 and pq.read_table(out).column("line_no").to_pylist() == [1, 3]
    assert [(r["line"], r["rule"], r["reason"]) for r in rejects] == [
        (2, "encoding", "not UTF-8: invalid start byte at byte 18")]
