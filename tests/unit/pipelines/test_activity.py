"""Activity staging on tiny inline JSONL: every line staged or quarantined with its line number and reason;
timestamps in any zone (or none: [activity] timezone) to UTC; keyed pseudonyms, masked IPs, response classes."""
import datetime as dt
import hashlib
import hmac
import io
import json

import jsonschema
import pyarrow as pa
import pytest

from tests.conftest import luigi_settings
from tests.unit.pipelines.helpers import stage
from workflows.declarations import load_schema
from workflows.demo import activity_data
from workflows.pipelines.activity import API_LOGS, USER_ACTIVITIES
from workflows.pipelines.activity.transforms import mask_ip, mask_ips, pseudonym_key, response_class
from workflows.staging import formats, readers
from workflows.staging.contract import ContractError, compile_contract

UTC = dt.timezone.utc
DS = dt.date(2026, 11, 20)
KEY = "unit-test-key"


@pytest.fixture(autouse=True)
def pseudonym_settings():
    with luigi_settings({"activity": {"pseudonym_key": KEY, "landing": ""}}):
        yield


def pseudo(uid, key: str = KEY) -> str:
    return hmac.new(key.encode(), str(uid).encode(), hashlib.sha256).hexdigest()


def event(**over):
    rec = {"user_id": 7, "session_id": "s1", "page_url": "/cart", "action": "view",
           "timestamp": "2026-11-20T12:00:00+02:00", "device_type": "mobile", "user_agent": "UA", "ip_address": "1.2.3.4"}
    return {**rec, **over}


def request(**over):
    rec = {"request_id": "r1", "endpoint": "/api/v1/cart", "method": "GET", "status_code": 200, "response_time": 12.5,
           "timestamp": "2026-11-20T10:00:00Z", "user_id": "7"}
    return {**rec, **over}


def jsonl(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def test_user_activities_good_and_bad_lines(tmp_path):
    lines = [
        json.dumps(event()),                                          # 1 ok
        "",                                                           # 2 blank: not a record
        '{"user_id": 7, "session_id": "s1", "page_u',                 # 3 truncated
        json.dumps(event(action="hover")),                            # 4 unknown action
        json.dumps({k: v for k, v in event().items() if k != "device_type"}),  # 5 missing field
        json.dumps(event(timestamp="2026-11-20T10:00:00")),           # 6 no zone: read in [activity] timezone (UTC)
        json.dumps(event(timestamp="2026-02-30T10:00:00Z")),          # 7 impossible date
        json.dumps(event(user_id="42", ip_address="2001:db8:1:2::3", user_agent=None)),  # 8 ok, id as text
        json.dumps(event(ip_address="300.1.1.1")),                    # 9 bad IP
        "[1, 2]",                                                     # 10 JSON, not an object
        json.dumps(event(user_id=True)),                              # 11 bool is not an id
    ]
    rows, rejects, stats = stage(USER_ACTIVITIES, tmp_path, jsonl(lines))
    common = {"session_id": "s1", "page_url": "/cart", "action": "view", "device_type": "mobile",
              "occurred_at": dt.datetime(2026, 11, 20, 10, tzinfo=UTC), "event_date": dt.date(2026, 11, 20)}
    assert rows == [
        {"line_no": 1, "user_pseudo_id": pseudo(7), **common, "user_agent": "UA", "ip_address_masked": "1.2.3.0"},
        # a zone-less timestamp is accepted now (was a 'schema' reject), read in [activity] timezone = UTC
        {"line_no": 6, "user_pseudo_id": pseudo(7), **common, "user_agent": "UA", "ip_address_masked": "1.2.3.0"},
        {"line_no": 8, "user_pseudo_id": pseudo(42), **common, "user_agent": None, "ip_address_masked": "2001:db8:1::"},
    ]
    got = {r["line"]: (r["rule"], r["reason"]) for r in rejects}
    assert sorted(got) == [3, 4, 5, 7, 9, 10, 11]
    assert stats.records == 10 and stats.staged + stats.quarantined == 10  # the blank line is no record
    column = lines[2].index('"page_u') + 1
    assert got[3] == ("json", f"not JSON: Unterminated string starting at (column {column})")
    assert got[4] == ("enum", "$.action: 'hover' is not one of ['view', 'click', 'add_to_cart', 'purchase']")
    assert got[5] == ("required", "$: 'device_type' is a required property")
    # the schema's date-time format rejects it now (was 'parse' with Python's ISO 8601 wording)
    assert got[7] == ("format", "$.timestamp: '2026-02-30T10:00:00Z' is not a 'date-time'")
    assert got[9] == ("format", "$.ip_address: '300.1.1.1' is not an IPv4 or IPv6 address")  # was 'parse'
    assert got[10] == ("type", "$: [1, 2] is not of type 'object'")
    assert got[11][0] == "type"  # was 'schema'
    # no raw id or full IP in the quarantine: ids pseudonymised, IPs masked, text lines blanked
    by_line = {r["line"]: r["record"] for r in rejects}
    assert by_line[4]["user_id"] == pseudo(7) and by_line[4]["ip_address"] == "1.2.3.0"
    assert by_line[3] == '{"user_id": "<redacted>", "session_id": "s1", "page_u'
    assert by_line[9]["ip_address"] == "<redacted>"


def test_zone_less_timestamps_are_read_in_the_pipelines_timezone(tmp_path):
    lines = [json.dumps(event(timestamp="2026-11-20T10:00:00")), json.dumps(event(timestamp="2026-07-01 10:00:00.5")),
             json.dumps(event(timestamp="2026-11-20T10:00:00+05:00"))]  # an offset keeps its own zone
    rows, rejects, _ = stage(USER_ACTIVITIES, tmp_path, jsonl(lines), timezone="Europe/Berlin")
    assert not rejects
    assert [r["occurred_at"] for r in rows] == [dt.datetime(2026, 11, 20, 9, tzinfo=UTC),   # CET = UTC+1
                                                dt.datetime(2026, 7, 1, 8, 0, 0, 500000, tzinfo=UTC),  # CEST = +2
                                                dt.datetime(2026, 11, 20, 5, tzinfo=UTC)]


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
    rows, rejects, _ = stage(API_LOGS, tmp_path, jsonl(lines))
    assert [(r["line_no"], r["request_id"], r["status_code"], r["response_class"], r["response_time_ms"]) for r in rows] == [
        (1, "r1", 200, "success", 12.5), (6, "r6", 101, "informational", 3.0), (8, "r8", 503, "server_error", 12.5)]
    assert rows[0]["user_pseudo_id"] == rows[2]["user_pseudo_id"] == pseudo(7)  # "7" and 7: one user
    assert rows[2]["requested_at"] == dt.datetime(2026, 11, 20, 10, tzinfo=UTC)
    got = {r["line"]: (r["rule"], r["reason"]) for r in rejects}
    # rules by the schema keyword (were 'schema'); the duplicate names its winner (was "an earlier line was staged")
    assert got == {
        2: ("range", "$.status_code: 999 is greater than the maximum of 599"),
        3: ("range", "$.response_time: -1 is less than the minimum of 0"),
        4: ("duplicate_key", "duplicate request_id = 'r1': line 1 wins (the first in the file)"),
        5: ("json", "not JSON: NaN is not a JSON number"),
        7: ("enum", "$.method: 'FETCH' is not one of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']"),
    }
    assert {r["line"]: r.get("winner_line") for r in rejects}[4] == 1


def test_block_and_batch_sizes_give_the_same_result(tmp_path, monkeypatch):
    buf = io.StringIO()
    activity_data.write_api_logs(buf, 3, DS, 1500, 0.3)
    text = buf.getvalue()
    whole = stage(API_LOGS, tmp_path, text)
    monkeypatch.setattr(readers, "BLOCK_BYTES", 16_384)  # 15 blocks (not one of 8 MiB)
    monkeypatch.setattr(readers, "BATCH_RECORDS", 32)    # of small batches
    small = stage(API_LOGS, tmp_path, text)
    assert small[:2] == whole[:2]
    rows, rejects, _ = whole
    assert len(rows) + len(rejects) == len(text.splitlines()) and len(rejects) > 300
    # the defects' rules by keyword (were json / schema / duplicate_key)
    assert {r["rule"] for r in rejects} == {"json", "type", "required", "range", "duplicate_key"}


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
def test_staging_accepts_exactly_what_the_schema_accepts(entity, tmp_path):
    """(Was: the fast pre-check never accepts what the schema rejects; the pre-check is gone, the engine
    is the only path.) Generated lines and edge cases: staged exactly when strict JSON, valid by jsonschema
    and — for api_logs — the first valid line of its request_id."""
    buf = io.StringIO()
    activity_data.WRITERS[entity.name](buf, 11, DS, 3000, 0.5)
    lines = buf.getvalue().splitlines() + [json.dumps(r) for r in EDGE_CASES]
    check = jsonschema.Draft202012Validator(load_schema(entity.schema), format_checker=formats.python_checker())
    expected, seen = [], set()
    for number, line in enumerate(lines, 1):
        record = _strict(line)
        if record is _NOT_JSON or not check.is_valid(record):
            continue
        if entity is API_LOGS:
            if record["request_id"] in seen:
                continue
            seen.add(record["request_id"])
        expected.append(number)
    rows, _, _ = stage(entity, tmp_path, jsonl(lines))
    assert [r["line_no"] for r in rows] == expected
    assert len(expected) > 1000


_NOT_JSON = object()


def _strict(line: str):
    """Strict JSON, as staging decodes it (NaN would pass jsonschema's minimum: staging rejects it earlier)."""
    try:
        return json.loads(line, parse_constant=_no_constant)
    except ValueError:
        return _NOT_JSON


def _no_constant(name):
    raise ValueError(name)


def test_the_contract_refuses_keywords_it_cannot_check():
    """(Was the pre-check's refusals; the compiled contract refuses what it cannot evaluate exactly.)"""
    with pytest.raises(ContractError, match="oneOf"):
        compile_contract("t", {"type": "object", "oneOf": []})
    # a format the contract does not know is an annotation now, for jsonschema too (the pre-check refused "ipv4")
    contract = compile_contract("t", {"type": "object", "properties": {"ip": {"type": "string", "format": "ipv4"}}})
    assert contract.validator.is_valid({"ip": "not-an-ip"})


def test_the_landed_keys_are_counted(tmp_path):
    """(Was landing.scan's keys; the reader reports the fields it saw, the lines are landing.describe's.)"""
    rows, rejects, stats = stage(USER_ACTIVITIES, tmp_path, '{"a": 1, "b": 2}\n\n   \nnot json\n{"c": 3}\n[1]\n{"a": 2}')
    assert stats.fields == ["a", "b", "c"]
    assert stats.records == 5 and len(rejects) == 5 and rows == []


def test_a_line_that_is_not_utf8_is_quarantined(tmp_path):
    good = json.dumps(request()).encode()
    raw = good + b"\n" + b'{"request_id": "r\xff2"}\n' + good.replace(b'"r1"', b'"r3"') + b"\r\n"
    rows, rejects, _ = stage(API_LOGS, tmp_path, raw)
    assert [r["line_no"] for r in rows] == [1, 3]
    assert [(r["line"], r["rule"], r["reason"]) for r in rejects] == [
        (2, "encoding", "not UTF-8: invalid start byte at byte 18")]


# ── timestamps (were transforms.utc_micros; now the engine's date-time columns) ──

def _requests_at(texts: list[str]) -> str:
    return jsonl([json.dumps(request(request_id=f"r{i}", timestamp=t)) for i, t in enumerate(texts)])


@pytest.mark.parametrize("text, expected", [
    ("2026-11-20T10:15:30Z", dt.datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC)),
    ("2026-11-20T12:15:30+02:00", dt.datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC)),
    ("2026-11-20 05:15:30.250-05:00", dt.datetime(2026, 11, 20, 10, 15, 30, 250_000, tzinfo=UTC)),
    ("2026-11-20T15:45:30+0530", dt.datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC)),
    ("2026-11-19T23:30:00-0800", dt.datetime(2026, 11, 20, 7, 30, 0, tzinfo=UTC)),
    ("2026-11-20T10:15:30.123456789Z", dt.datetime(2026, 11, 20, 10, 15, 30, 123_456, tzinfo=UTC)),  # ns truncated
    ("2026-11-20T10:15:30", dt.datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC)),  # no zone: accepted now, in UTC
])
def test_timestamps_in_any_zone_become_utc(text, expected, tmp_path):
    rows, rejects, _ = stage(API_LOGS, tmp_path, _requests_at([text]))
    assert not rejects
    assert [r["requested_at"] for r in rows] == [expected]


@pytest.mark.parametrize("text", ["2026-02-30T10:00:00Z", "yesterday", "2026-11-20T10:00:00.Z", "2026-11-20T10:00:00+5"])
def test_bad_timestamps_are_format_rejects(text, tmp_path):
    rows, rejects, _ = stage(API_LOGS, tmp_path, _requests_at([text]))
    assert rows == []
    # rule 'format' with jsonschema's wording (was 'parse' with "not a valid ISO 8601 instant")
    assert [(r["rule"], r["reason"]) for r in rejects] == [("format", f"$.timestamp: {text!r} is not a 'date-time'")]


# ── pseudonyms, IP masks, response classes ──

def _users(ids: list) -> str:
    return jsonl([json.dumps(request(request_id=f"u{i}", user_id=u)) for i, u in enumerate(ids)])


def test_pseudonym_is_hmac_sha256_of_the_canonical_id_and_joins_int_and_text(tmp_path):
    expected = hmac.new(b"k1", b"123", hashlib.sha256).hexdigest()
    with luigi_settings({"activity": {"pseudonym_key": "k1"}}):
        rows, rejects, _ = stage(API_LOGS, tmp_path, _users([123, "123", 123.0, "0123", "u-9"]))
    assert not rejects
    pseudonyms = [r["user_pseudo_id"] for r in rows]
    assert pseudonyms[:3] == [expected] * 3  # 123, "123" and 123.0: one user
    assert pseudonyms[3] != expected  # ids are text: no numeric coercion of strings
    assert pseudonyms[4] == pseudo("u-9", "k1") and len(expected) == 64
    with luigi_settings({"activity": {"pseudonym_key": "k2"}}):
        other, _, _ = stage(API_LOGS, tmp_path, _users([123]))
    assert other[0]["user_pseudo_id"] != expected  # keyed: another key, another pseudonym


def test_user_id_with_surrounding_whitespace_is_rejected(tmp_path):
    rows, rejects, _ = stage(API_LOGS, tmp_path, _users(["123\n", "7"]))
    assert [r["request_id"] for r in rows] == ["u1"]
    # Python's `$` lets "123\n" through the pattern; the transform refuses it (was RowError 'parse')
    assert [(r["line"], r["rule"], r["reason"]) for r in rejects] == [
        (1, "format", "$.user_id: '123\\n' is not a user id without surrounding space")]


@pytest.mark.parametrize("ip, masked", [
    ("83.138.43.19", "83.138.43.0"),
    ("10.0.0.255", "10.0.0.0"),
    ("2001:db8:cbc1:e379::857b", "2001:db8:cbc1::"),
    ("2001:0db8:0001:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::"),
])
def test_ip_masking(ip, masked):
    assert mask_ip(ip) == masked


@pytest.mark.parametrize("ip", ["999.1.1.1", "1.2.3", "not-an-ip", "1.2.3.04"])
def test_invalid_ip_is_a_format_problem(ip):
    with pytest.raises(ValueError):
        mask_ip(ip)
    masked, problems = mask_ips(pa.array(["1.2.3.4", ip, None]))
    assert masked.to_pylist() == ["1.2.3.0", None, None]
    assert problems == {1: f"{ip!r} is not an IPv4 or IPv6 address"}  # the engine quarantines it as 'format'


def test_response_classes():
    codes = (100, 101, 200, 204, 301, 304, 400, 404, 429, 500, 503, 599)
    assert response_class({"status_code": pa.array(codes, pa.int64())}).to_pylist() == [
        "informational", "informational", "success", "success", "redirect", "redirect",
        "client_error", "client_error", "client_error", "server_error", "server_error", "server_error"]
    with pytest.raises(pa.ArrowIndexError):  # never a made-up class (the contract keeps codes in 100-599)
        response_class({"status_code": pa.array([600], pa.int64())})


def test_real_drops_without_a_pseudonym_key_are_refused():
    with luigi_settings({"activity": {"landing": "/srv/drops", "pseudonym_key": ""}}):
        with pytest.raises(ValueError, match=r"pseudonym_key is empty while \[activity\] landing"):
            pseudonym_key()
    with luigi_settings({"activity": {"landing": "", "pseudonym_key": ""}}):
        assert pseudonym_key()  # generated drops: the demo key, with a warning
