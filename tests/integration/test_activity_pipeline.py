"""Activity end to end on the embedded PostgreSQL with a local lake and a lake on moto's S3 server.

Expected values are computed here, independently of the code under test: the raw
JSONL is classified with the JSON Schema contract (jsonschema) and the stdlib
(hmac, datetime, ipaddress); every mart is recomputed in Python from the staged rows.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import ipaddress
import json
import math
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import jsonschema
import luigi
import luigi.execution_summary
import openpyxl
import pytest

from tests.conftest import luigi_settings
from workflows.demo import activity_data

D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)
KEY = "integration-test-key"
REPO = Path(__file__).resolve().parents[2]
MARTS = ("activity_action_counts", "activity_page_visits", "activity_device_counts", "activity_user_action_intervals",
         "activity_status_code_counts", "activity_endpoint_latency", "activity_requests_per_user", "activity_user_day")
CLASSES = {"1": "informational", "2": "success", "3": "redirect", "4": "client_error", "5": "server_error"}
MS = Decimal("0.001")


def build(*tasks):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def export_task(ds):
    from workflows.tasks.export import Export

    return Export(date=ds, pipeline="activity")


# ── the contract, written out independently ─────────────────────────────────

def _strict(name):
    raise ValueError(name)


def _no_repeats(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a repeated field")
    return dict(pairs)


# docs/rejects.md: the jsonschema keyword of the best-matching error names the rule
RULE_OF = {"required": "required", "type": "type", "enum": "enum", "minimum": "range", "maximum": "range",
           "minLength": "length", "maxLength": "length", "pattern": "pattern", "format": "format"}
# docs/staging.md: date-time = date, T or space, hh:mm[:ss[.1-9 digits]], optional Z / ±hh[[:]mm]
DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
                       r"(Z|z|[+-]\d{2}(?::?\d{2})?)?", re.ASCII)


def parse_instant(text: str) -> dt.datetime | None:
    """The documented date-time format, read in plain Python; no zone = UTC (the default timezone)."""
    m = DATE_TIME.fullmatch(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        local = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), int((frac or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
    if zone in (None, "Z", "z"):
        return local.replace(tzinfo=dt.timezone.utc)
    digits = zone[1:].replace(":", "").ljust(4, "0")
    if int(digits[:2]) > 23 or int(digits[2:]) > 59:
        return None
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])) * (-1 if zone[0] == "-" else 1)
    return (local - offset).replace(tzinfo=dt.timezone.utc)


def classify(entity: str, raw: bytes) -> tuple[dict[int, dict], dict[int, str]]:
    """(line -> valid record, line -> rule of the invalid ones) by the source contract."""
    schema = json.loads((REPO / "workflows" / "schemas" / "activity" / f"{entity}.json").read_text())
    contract = jsonschema.Draft202012Validator(schema)
    valid, invalid, ids = {}, {}, set()
    for n, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line, parse_constant=_strict, object_pairs_hook=_no_repeats)
        except ValueError:
            invalid[n] = "json"
            continue
        error = jsonschema.exceptions.best_match(contract.iter_errors(rec))
        if error is not None:
            invalid[n] = RULE_OF[error.validator]
            continue
        try:
            instant = parse_instant(rec["timestamp"])
            rec.get("ip_address") is None or ipaddress.ip_address(rec["ip_address"])
        except ValueError:
            instant = None
        if instant is None:
            invalid[n] = "format"
        elif entity == "api_logs" and rec["request_id"] in ids:
            invalid[n] = "duplicate_key"
        else:
            ids.add(rec.get("request_id"))
            valid[n] = rec
    return valid, invalid


def pseudo(user_id) -> str:
    canonical = str(int(user_id)) if isinstance(user_id, float) else str(user_id)
    return hmac.new(KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def utc(text: str) -> dt.datetime:
    return parse_instant(text)


def masked(ip: str | None) -> str | None:
    if ip is None:
        return None
    prefix = 24 if ipaddress.ip_address(ip).version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def ms(value) -> Decimal:
    return Decimal(repr(value)).quantize(MS, ROUND_HALF_UP)


def expected_staging(entity: str, valid: dict[int, dict]) -> set[tuple]:
    if entity == "user_activities":
        return {(n, pseudo(r["user_id"]), r["session_id"], r["page_url"], r["action"], r["device_type"],
                 utc(r["timestamp"]), r.get("user_agent"), masked(r.get("ip_address"))) for n, r in valid.items()}
    return {(n, r["request_id"], r["endpoint"], r["method"], int(r["status_code"]), CLASSES[str(r["status_code"])[0]],
             ms(r["response_time"]), utc(r["timestamp"]), pseudo(r["user_id"])) for n, r in valid.items()}


STAGING_SQL = {
    "user_activities": "SELECT line_no, user_pseudo_id, session_id, page_url, action, device_type, occurred_at, "
                       "user_agent, ip_address_masked FROM staging.activity_user_activities WHERE ds = %s",
    "api_logs": "SELECT line_no, request_id, endpoint, method, status_code, response_class, response_time_ms, "
                "requested_at, user_pseudo_id FROM staging.activity_api_logs WHERE ds = %s",
}


# ── the marts, recomputed from staged rows ──────────────────────────────────

def half_up(value: Decimal) -> Decimal:
    return value.quantize(MS, ROUND_HALF_UP)


def percentile_cont(values: list[float], p: float) -> Decimal:
    """PostgreSQL's percentile_cont: linear interpolation, in float8, then numeric (15 digits)."""
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    value = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    return half_up(Decimal(f"{value:.15g}"))


def expected_marts(act: list[tuple], api: list[tuple], ds: dt.date) -> dict[str, set[tuple]]:
    by = defaultdict(list)
    for row in act:
        _, user, session, page, action, device, at, _, _ = row
        by["action", action].append(user)
        by["page", page].append(user)
        by["device", device].append(user)
        by["user_times", user].append(at)
    out: dict[str, set[tuple]] = {
        "activity_action_counts": {(ds, k[1], len(u), len(set(u))) for k, u in by.items() if k[0] == "action"},
        "activity_page_visits": {(ds, k[1], len(u), len(set(u))) for k, u in by.items() if k[0] == "page"},
        "activity_device_counts": {(ds, k[1], len(u), len(set(u))) for k, u in by.items() if k[0] == "device"},
    }
    intervals = set()
    for (kind, user), times in by.items():
        instants = sorted(set(times))
        if kind == "user_times" and len(instants) > 1:
            gaps = [(b - a) // dt.timedelta(microseconds=1) for a, b in zip(instants, instants[1:])]
            avg = half_up(Decimal(sum(gaps)) / len(gaps) / 1_000_000)
            intervals.add((ds, user, len(times), len(instants), avg))
    out["activity_user_action_intervals"] = intervals

    status, latency, per_user = defaultdict(list), defaultdict(list), defaultdict(list)
    for _, _, endpoint, method, code, klass, ms_, _, user in api:
        status[code, klass].append(1)
        latency[endpoint, method].append(ms_)
        per_user[user].append((code, ms_))
    out["activity_status_code_counts"] = {(ds, code, klass, len(v)) for (code, klass), v in status.items()}
    out["activity_endpoint_latency"] = {
        (ds, e, m, len(v), half_up(sum(v) / len(v)), percentile_cont([float(x) for x in v], 0.5),
         percentile_cont([float(x) for x in v], 0.95)) for (e, m), v in latency.items()}
    out["activity_requests_per_user"] = {(ds, u, len(v), sum(c >= 400 for c, _ in v)) for u, v in per_user.items()}

    user_day = set()
    users = {r[1] for r in act} | set(per_user)
    for u in users:
        mine = [r for r in act if r[1] == u]
        actions = Counter(r[4] for r in mine)
        reqs = per_user.get(u, [])
        user_day.add((ds, u, len(mine), len({r[2] for r in mine}), actions["view"], actions["click"],
                      actions["add_to_cart"], actions["purchase"], len(reqs), sum(c >= 400 for c, _ in reqs),
                      half_up(sum(m for _, m in reqs) / len(reqs)) if reqs else None))
    out["activity_user_day"] = user_day
    return out


def mart_rows(env, mart: str, ds: dt.date) -> set[tuple]:
    return set(env.query(f"SELECT * FROM mart.{mart} WHERE ds = %s", (ds,)))


def to_json(row: tuple) -> list:
    return [float(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, dt.date) else v for v in row]


# ── fixtures ────────────────────────────────────────────────────────────────

@pytest.fixture
def activity_cfg(env, tmp_path):
    """Activity settings on top of ``env``: drops in a landing folder (local) or an S3 prefix (s3)."""
    drops = tmp_path / "drops"
    for ds in (D1, D2):
        for entity in ("user_activities", "api_logs"):
            activity_data.write_drop(drops, entity, 7, ds, 900, 0.05)
    if env.kind == "s3":
        client, bucket = env.s3
        for path in drops.iterdir():
            client.put_object(Bucket=bucket, Key=f"landing/{path.name}", Body=path.read_bytes())
        landing = f"s3://{bucket}/landing"
    else:
        landing = str(drops)
    with luigi_settings({"activity": {"landing": landing, "pseudonym_key": KEY}}):
        yield env


# ── tests ───────────────────────────────────────────────────────────────────

def test_every_mart_matches_an_independent_computation(activity_cfg):
    env = activity_cfg
    build(export_task(D2))
    staged = {}
    for entity in ("user_activities", "api_logs"):
        raw = env.read_lake(f"raw/activity/{entity}/ds={D2}/{entity}.jsonl")
        assert raw == (Path(env.lake).parent / "drops" / activity_data.file_name(entity, D2)).read_bytes() \
            if env.kind == "local" else raw.count(b"\n") == 900  # landed unchanged
        meta = json.loads(env.read_lake(f"raw/activity/{entity}/ds={D2}/{entity}.jsonl.meta.json"))
        valid, invalid = classify(entity, raw)
        assert meta["lines"] == 900 == len(valid) + len(invalid)
        assert invalid, "the generated drop has defects"
        # stage: exactly the valid lines, transformed; the invalid ones quarantined with line and rule
        rows = env.query(STAGING_SQL[entity], (D2,))
        assert set(rows) == expected_staging(entity, valid) and len(rows) == len(valid)
        rejects = [json.loads(x) for x in env.read_lake(f"quarantine/activity/{entity}/ds={D2}/rejects.jsonl").splitlines()]
        assert {r["line"]: r["rule"] for r in rejects} == invalid
        assert all(r["reason"] for r in rejects)
        staged[entity] = rows

    act, api = staged["user_activities"], staged["api_logs"]
    expected = expected_marts(act, api, D2)
    for mart in MARTS:
        assert mart_rows(env, mart, D2) == expected[mart], mart

    # counts add up to the staged rows; the join does not inflate either side
    total = lambda mart, col: env.query(f"SELECT sum({col}) FROM mart.{mart} WHERE ds = %s", (D2,))[0][0]  # noqa: E731
    for mart, col in (("activity_action_counts", "action_count"), ("activity_page_visits", "visit_count"),
                      ("activity_device_counts", "event_count"), ("activity_user_day", "activity_events")):
        assert total(mart, col) == len(act)
    for mart, col in (("activity_status_code_counts", "request_count"), ("activity_endpoint_latency", "request_count"),
                      ("activity_requests_per_user", "request_count"), ("activity_user_day", "api_requests")):
        assert total(mart, col) == len(api)
    day = {r[1]: (r[2], r[8]) for r in mart_rows(env, "activity_user_day", D2)}
    assert {u: n for u, (n, _) in day.items() if n} == Counter(r[1] for r in act)
    assert {u: n for u, (_, n) in day.items() if n} == Counter(r[8] for r in api)
    assert any(a and not b for a, b in day.values()) and any(b and not a for a, b in day.values())  # both one-sided kinds

    # the raw user id reaches neither staging nor a mart
    raw_ids = {str(r["user_id"]) for e in ("user_activities", "api_logs")
               for r in classify(e, env.read_lake(f"raw/activity/{e}/ds={D2}/{e}.jsonl"))[0].values()}
    columns = {c for (c,) in env.query("SELECT column_name FROM information_schema.columns "
                                       "WHERE table_schema IN ('staging', 'mart') AND table_name LIKE 'activity%%'")}
    assert "user_id" not in columns and "ip_address" not in columns
    pseudonyms = {r[0] for t in ("staging.activity_user_activities", "staging.activity_api_logs", "mart.activity_user_day",
                                 "mart.activity_requests_per_user", "mart.activity_user_action_intervals")
                  for r in env.query(f"SELECT DISTINCT user_pseudo_id FROM {t}")}
    assert pseudonyms == {pseudo(u) for u in raw_ids} and not pseudonyms & raw_ids

    # exports: one JSON file per mart with exactly the mart's rows, then the manifest
    manifest = json.loads(env.read_lake(f"exports/activity/ds={D2}/manifest.json"))
    assert [f["mart"] for f in manifest["files"]] == list(MARTS)
    for f in manifest["files"]:
        doc = json.loads(env.read_lake(f"exports/activity/ds={D2}/{f['file']}"))
        rows = env.query(f"SELECT * FROM mart.{f['mart']} WHERE ds = %s", (D2,))
        assert doc["row_count"] == f["row_count"] == len(rows) == len(doc["records"]) > 0
        assert sorted(map(tuple, ([r[c] for c in doc["columns"]] for r in doc["records"]))) == sorted(
            tuple(to_json(r)) for r in rows)


def checksums(env, ds: dt.date) -> dict:
    """Mart rows with their row versions (xmin: an UPDATE would change it), staging rows, export bytes."""
    out = {m: sorted(env.query(f"SELECT xmin::text, t::text FROM mart.{m} t WHERE ds = %s", (ds,))) for m in MARTS}
    for entity in ("user_activities", "api_logs"):
        out[entity] = sorted(env.query(f"SELECT t::text FROM staging.activity_{entity} t WHERE ds = %s", (ds,)))
    for f in MARTS:
        out[f + ".json"] = env.read_lake(f"exports/activity/ds={ds}/{f}.json")
    return out


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_rerun_and_out_of_order_dates_change_nothing(activity_cfg):
    env = activity_cfg
    build(export_task(D2))
    d2 = checksums(env, D2)
    build(export_task(D1))  # an older date after a newer one
    d1 = checksums(env, D1)
    assert checksums(env, D2) == d2

    env.query("DELETE FROM etl.partition_markers WHERE ds = %s RETURNING 1", (D1,))
    result = build(export_task(D1))
    ran = {t.get_task_family() for t in luigi.execution_summary._partition_tasks(result.worker)["completed"]}
    assert {"Extract", "Stage", "Load", "MartBuild", "Mart", "Export"} <= ran  # everything ran again
    assert checksums(env, D1) == d1 and checksums(env, D2) == d2

    again = build(export_task(D1))
    assert "Did not run any tasks" in again.summary_text


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_ten_percent_malformed_lines_load_the_rest_and_reach_the_dq_workbook(env, tmp_path):
    from workflows import Check
    from workflows.quality.report_data import write_report

    settings = {"landing": "", "demo_landing": str(tmp_path / "generated"), "demo_lines": "1000",
                "demo_defect_rate": "0.1", "pseudonym_key": KEY}
    with luigi_settings({"activity": settings}):
        build(Check(date=D2, pipeline="activity"))
        write_report(D2)
    book = openpyxl.load_workbook(io.BytesIO(env.read_lake(f"reports/dq/ds={D2}/dq_report_{D2}.xlsx")))
    flow = {}
    for row in book["Reconciliation"].iter_rows(min_row=2, values_only=True):  # the row-flow table, up to a blank row
        if row[0] is None:
            break
        if row[0] == "activity":
            flow[row[1]] = row
    quarantine = Counter()
    for row in book["Quarantine"].iter_rows(min_row=3, values_only=True):
        if row[0] == "activity" and isinstance(row[4], int):
            quarantine[row[1], row[2]] += row[4]

    for entity in ("user_activities", "api_logs"):
        raw = env.read_lake(f"raw/activity/{entity}/ds={D2}/{entity}.jsonl")
        valid, invalid = classify(entity, raw)
        assert len(valid) + len(invalid) == 1000 and 0.06 < len(invalid) / 1000 < 0.14
        staged = env.query(f"SELECT count(*) FROM staging.activity_{entity} WHERE ds = %s", (D2,))[0][0]
        assert staged == len(valid)  # the good ~90% loaded
        raw_records, valid_rows, quarantined = flow[entity][2:5]
        assert (raw_records, valid_rows, quarantined) == (1000, len(valid), len(invalid))
        assert {rule: n for (e, rule), n in quarantine.items() if e == entity} == Counter(invalid.values())

    statuses = dict(env.query("SELECT check_name, status FROM etl.dq_results WHERE pipeline = 'activity' AND ds = %s", (D2,)))
    assert statuses["reconciliation_raw_vs_staged"] == "pass" and statuses["activity_user_day_events_sum_to_staged_rows"] == "pass"
    assert {s for s in statuses.values()} <= {"pass", "warn"}
