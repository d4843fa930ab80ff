"""Activity late events (docs/late-events.md): events land in the marts of their own UTC event date, once.

Five daily drops whose events are 0–3 days late (timestamps in several zones, many near
midnight, so the local date often differs from the UTC one), users shared across days and both
sources, double clicks at one instant. They run through the real tasks (and the real ``luigi``
command) in date order, out of order, re-run, and with one file re-delivered changed; after
every run each activity mart, whole, equals a model computed here in plain Python from the
drops delivered so far (json, hmac, datetime, decimal) — never from what the code staged.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import luigi
import pytest

from tests.conftest import luigi_cli, luigi_settings

DAYS = [dt.date(2026, 11, 16) + dt.timedelta(days=i) for i in range(5)]
KEY = "late-events-test-key"
UTC = dt.timezone.utc
MS = Decimal("0.001")
MARTS = ("activity_action_counts", "activity_page_visits", "activity_device_counts", "activity_user_action_intervals",
         "activity_status_code_counts", "activity_endpoint_latency", "activity_requests_per_user", "activity_user_day")
LATENESS = (0,) * 12 + (1,) * 4 + (2,) * 3 + (3,) * 2   # days late: 0 (most) to 3
ZONES = (("Z", 0), ("+00:00", 0), ("+02:00", 120), ("-05:00", -300), ("+05:30", 330), ("-08:00", -480))
ACTIONS, DEVICES = ("view", "click", "add_to_cart", "purchase"), ("mobile", "desktop", "tablet")
PAGES = ("/", "/search", "/cart", "/checkout", "/products/1", "/products/2")
ENDPOINTS = (("/api/v1/cart", "GET"), ("/api/v1/cart/items", "POST"), ("/api/v1/orders", "POST"), ("/health", "GET"))
CODES = (200, 200, 200, 201, 304, 404, 500)
CLASSES = {1: "informational", 2: "success", 3: "redirect", 4: "client_error", 5: "server_error"}


# ── the drops ───────────────────────────────────────────────────────────────

def _instant(rng: random.Random, day: dt.date) -> str:
    """An instant on UTC date ``day`` (often within two hours of a midnight), written in a zone."""
    us = rng.randrange(86_400_000_000) if rng.random() < 0.6 else (
        rng.randrange(7_200_000_000) if rng.random() < 0.5 else 86_400_000_000 - 1 - rng.randrange(7_200_000_000))
    at = dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(microseconds=us)
    suffix, minutes = rng.choice(ZONES)
    local = (at + dt.timedelta(minutes=minutes)).replace(tzinfo=None)
    return local.isoformat(timespec=rng.choice(("microseconds", "milliseconds"))) + suffix


def drop_lines(file_day: dt.date, version: int = 0) -> tuple[list[str], list[str]]:
    """(user_activities lines, api_logs lines) of the file delivered on ``file_day``: valid events
    0–3 days late and two broken lines per file (quarantined, in no mart)."""
    rng = random.Random(f"late|{file_day}|{version}")
    act, api, previous = [], [], None
    for _ in range(110):
        day = file_day - dt.timedelta(days=rng.choice(LATENESS))
        if previous is not None and rng.random() < 0.06:
            rec = {**previous, "action": "click"}  # a double click: same user, same instant
        else:
            user = rng.randrange(1, 16)
            rec = {"user_id": user if rng.random() < 0.7 else str(user), "session_id": f"s{user}-{rng.randrange(3)}",
                   "page_url": rng.choice(PAGES), "action": rng.choice(ACTIONS), "timestamp": _instant(rng, day),
                   "device_type": rng.choice(DEVICES)}
            if rng.random() < 0.8:
                rec["ip_address"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        previous = rec
        act.append(json.dumps(rec))
    for i in range(110):
        day = file_day - dt.timedelta(days=rng.choice(LATENESS))
        endpoint, method = rng.choice(ENDPOINTS)
        user = rng.randrange(6, 22)  # overlaps the activity users in part
        api.append(json.dumps({
            "request_id": f"{file_day:%Y%m%d}-{version}-{i}", "endpoint": endpoint, "method": method,
            "status_code": rng.choice(CODES), "response_time": round(rng.uniform(1, 900), rng.choice((0, 1, 3))),
            "timestamp": _instant(rng, day), "user_id": user if rng.random() < 0.7 else str(user)}))
    act += ['{"user_id": 3, "action": "view"', json.dumps({**json.loads(act[0]), "action": "hover"})]
    api += ["GET /health HTTP/1.1 200", json.dumps({**json.loads(api[0]), "status_code": 99})]
    return act, api


def write_drop(landing: Path, file_day: dt.date, lines: tuple[list[str], list[str]]) -> None:
    for entity, rows in zip(("user_activities", "api_logs"), lines):
        (landing / f"{entity}_{file_day:%Y%m%d}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


# ── the model: every mart from the delivered drops, in plain Python ──────────

def pseudo(user_id) -> str:
    return hmac.new(KEY.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()


def utc_instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(MS, ROUND_HALF_UP)


def percentile_cont(values: list[float], p: float) -> Decimal:
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return half_up(Decimal(f"{ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo):.15g}"))


def records(lines: list[str]) -> list[dict]:
    """The valid records of a generated file (its last two lines are the broken ones)."""
    return [json.loads(line) for line in lines[:-2]]


def model(delivered: dict[dt.date, tuple[list[str], list[str]]]) -> dict[str, set[tuple]]:
    """Every mart's rows, keyed by UTC event date, from the files delivered so far."""
    act, api = [], []
    for lines_act, lines_api in delivered.values():
        for r in records(lines_act):
            at = utc_instant(r["timestamp"])
            act.append((at.date(), pseudo(r["user_id"]), r["session_id"], r["page_url"], r["action"],
                        r["device_type"], at))
        for r in records(lines_api):
            at = utc_instant(r["timestamp"])
            api.append((at.date(), pseudo(r["user_id"]), r["endpoint"], r["method"], r["status_code"],
                        half_up(Decimal(repr(r["response_time"]))), at))
    groups = defaultdict(list)
    for day, user, session, page, action, device, at in act:
        for mart, key in (("activity_action_counts", action), ("activity_page_visits", page),
                          ("activity_device_counts", device)):
            groups[mart, day, key].append(user)
        groups["times", day, user].append(at)
        groups["sessions", day, user].append((session, action))
    for day, user, endpoint, method, code, ms, at in api:
        groups["status", day, code].append(1)
        groups["latency", day, (endpoint, method)].append(ms)
        groups["requests", day, user].append((code, ms))

    out: dict[str, set[tuple]] = {m: set() for m in MARTS}
    for (kind, day, key), v in groups.items():
        if kind in ("activity_action_counts", "activity_page_visits", "activity_device_counts"):
            out[kind].add((day, key, len(v), len(set(v))))
        elif kind == "times":
            instants = sorted(set(v))
            if len(instants) > 1:
                gaps = [(b - a) // dt.timedelta(microseconds=1) for a, b in zip(instants, instants[1:])]
                out["activity_user_action_intervals"].add(
                    (day, key, len(v), len(instants), half_up(Decimal(sum(gaps)) / len(gaps) / 1_000_000)))
        elif kind == "status":
            out["activity_status_code_counts"].add((day, key, CLASSES[key // 100], len(v)))
        elif kind == "latency":
            floats = [float(x) for x in v]
            out["activity_endpoint_latency"].add((day, *key, len(v), half_up(sum(v) / len(v)),
                                                  percentile_cont(floats, 0.5), percentile_cont(floats, 0.95)))
        elif kind == "requests":
            out["activity_requests_per_user"].add((day, key, len(v), sum(c >= 400 for c, _ in v)))
    users = {(d, u) for (kind, d, u) in groups if kind in ("sessions", "requests")}
    for day, user in users:
        events, reqs = groups.get(("sessions", day, user), []), groups.get(("requests", day, user), [])
        actions = [a for _, a in events]
        out["activity_user_day"].add((
            day, user, len(events), len({s for s, _ in events}), actions.count("view"), actions.count("click"),
            actions.count("add_to_cart"), actions.count("purchase"), len(reqs), sum(c >= 400 for c, _ in reqs),
            half_up(sum(m for _, m in reqs) / len(reqs)) if reqs else None))
    return out


# ── helpers ─────────────────────────────────────────────────────────────────

def marts(env) -> dict[str, set[tuple]]:
    return {m: set(env.query(f"SELECT * FROM mart.{m}")) for m in MARTS}


def row_versions(env) -> dict[str, list]:
    return {m: sorted(env.query(f"SELECT xmin::text, t::text FROM mart.{m} t")) for m in MARTS}


def assert_marts_are_the_model(env, delivered) -> None:
    expected, actual = model(delivered), marts(env)
    for m in MARTS:
        assert actual[m] == expected[m], (m, sorted(actual[m] ^ expected[m], key=str)[:6])


def json_form(value):
    """A model value as an export file writes it (numbers as JSON numbers, dates as ISO text)."""
    if isinstance(value, Decimal):
        return float(value)
    return value.isoformat() if isinstance(value, dt.date) else value


def lake_has(env, key: str) -> bool:
    try:
        env.read_lake(key)
    except FileNotFoundError:
        return False
    return True


def export_files(env, day: dt.date) -> dict[str, bytes]:
    """Every file of the activity export of ``day``, read straight from the lake."""
    return {name: env.read_lake(f"exports/activity/ds={day}/{name}") for name in ("manifest.json", *(f"{m}.json" for m in MARTS))}


def assert_exports_are_the_model(env, delivered, exported_days) -> None:
    """Exactly the days run so far have an export, and each one's files (every mart, the manifest)
    hold that day's rows of the model of the files delivered so far — late rows included."""
    assert {d for d in DAYS if lake_has(env, f"exports/activity/ds={d}/manifest.json")} == set(exported_days)
    expected = model(delivered)
    for day in exported_days:
        files = export_files(env, day)
        manifest = json.loads(files["manifest.json"])
        for m in MARTS:
            doc = json.loads(files[f"{m}.json"])
            want = {tuple(map(json_form, row)) for row in expected[m] if row[0] == day}
            got = [tuple(r[c] for c in doc["columns"]) for r in doc["records"]]
            assert set(got) == want and len(got) == len(want) == doc["row_count"], (day, m, sorted(set(got) ^ want, key=str)[:4])
            assert {"mart": m, "file": f"{m}.json", "row_count": len(want)} in manifest["files"]


def event_dates(*versions: tuple[list[str], list[str]]) -> tuple[set, set]:
    """UTC event dates of the activity and the API records of one or more versions of a file."""
    return ({utc_instant(r["timestamp"]).date() for act, _ in versions for r in records(act)},
            {utc_instant(r["timestamp"]).date() for _, api in versions for r in records(api)})


def assert_checks_covered_the_late_dates(env, ds: dt.date, lines, replaced=None) -> None:
    """The file's mart checks ran on every event date its rows changed (those of a replaced
    version too), and passed."""
    act_dates, api_dates = event_dates(lines, *([replaced] if replaced else []))
    rows = env.query("SELECT r.check_name, r.status, r.total_count FROM etl.dq_results r "
                     "JOIN etl.dq_latest_runs l USING (ds, pipeline, run_id) "
                     "WHERE r.ds = %s AND r.pipeline = 'activity' AND r.step = 'mart'", (ds,))
    results = {name: (status, total) for name, status, total in rows}
    assert len(results) == 11 and {s for s, _ in results.values()} == {"pass"}, results
    assert results["activity_action_counts_sum_to_staged_rows"][1] == len(act_dates) >= 2
    assert results["activity_endpoint_latency_sums_to_staged_rows"][1] == len(api_dates) >= 2
    assert results["every_requesting_user_in_user_day"][1] == len(event_dates(lines)[1])


@pytest.fixture
def drops(env, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    files = {day: drop_lines(day) for day in DAYS}
    for day, lines in files.items():
        write_drop(landing, day, lines)
    stamps = [(day, r["timestamp"]) for day, (act, api) in files.items() for r in records(act) + records(api)]
    assert sum(utc_instant(t).date() < day for day, t in stamps) > 300  # late events, of every lateness
    assert {(day - utc_instant(t).date()).days for day, t in stamps} == {0, 1, 2, 3}
    assert sum(utc_instant(t).date().isoformat() != t[:10] for _, t in stamps) > 50  # local date is not the UTC one
    with luigi_settings({"activity": {"landing": str(landing), "pseudonym_key": KEY},
                         "runall": {"pipelines": '["activity"]'}}):
        yield landing, files


def build(*tasks):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text


def export(ds: dt.date):
    from workflows.tasks.export import Export

    return Export(date=ds, pipeline="activity")


# ── tests ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_late_events_in_date_order_land_once_in_their_own_date(env, drops):
    _, files = drops
    delivered = {}
    for day in DAYS:
        build(export(day))
        delivered[day] = files[day]
        assert_marts_are_the_model(env, delivered)
        if day > DAYS[0]:
            assert_checks_covered_the_late_dates(env, day, files[day])
        # every export so far equals the model now: the earlier dates this file brought late
        # events for were rewritten by this day's Export (docs/late-events.md)
        assert_exports_are_the_model(env, delivered, [d for d in DAYS if d <= day])
    # each file stays in its own partition; the marts hold every event once, in its UTC date
    staged = dict(env.query("SELECT ds, count(*) FROM staging.activity_user_activities GROUP BY ds"))
    assert staged == {day: 110 for day in DAYS}
    assert env.query("SELECT sum(action_count) FROM mart.activity_action_counts") == [(5 * 110,)]
    assert env.query("SELECT sum(api_requests) FROM mart.activity_user_day") == [(5 * 110,)]
    # the late files did change DAYS[1]'s rows after its own run: its export had to be rewritten
    def rows_of(day, delivered_days):
        return {m: {r for r in rows if r[0] == day} for m, rows in model({d: files[d] for d in delivered_days}).items()}

    assert all(rows_of(DAYS[1], DAYS[:2])[m] != rows_of(DAYS[1], DAYS)[m] for m in MARTS)
    # ... while Export(DAYS[1])'s marker stayed as it was, and complete
    markers = dict(env.query("SELECT ds, seq FROM etl.partition_markers WHERE target = 'export/activity'"))
    assert set(markers) == set(DAYS) and sorted(markers, key=markers.get) == DAYS and export(DAYS[1]).complete()
    # the rewritten files are what Export(DAYS[1]) writes now: redoing it from its marts writes
    # the same bytes (and changes no mart row, no other export, no other marker)
    before, files_before = row_versions(env), {d: export_files(env, d) for d in DAYS}
    from workflows import Rerun

    build(Rerun(date=DAYS[1], pipeline="activity", entity="user_activities", **{"from": "mart"}))
    assert {d: export_files(env, d) for d in DAYS} == files_before and row_versions(env) == before
    after = dict(env.query("SELECT ds, seq FROM etl.partition_markers WHERE target = 'export/activity'"))
    assert after[DAYS[1]] > markers[DAYS[1]] and {d: s for d, s in after.items() if d != DAYS[1]} == {
        d: s for d, s in markers.items() if d != DAYS[1]}


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_late_events_out_of_order_rerun_and_redelivered_through_the_luigi_command(env, drops, tmp_path):
    landing, files = drops
    cfg = (f"[warehouse]\ndsn = {env.dsn}\n[lake]\nroot = {env.lake}\n"
           f"[activity]\nlanding = {landing}\npseudonym_key = {KEY}\n[runall]\npipelines = [\"activity\"]\n")

    def luigi_command(*args: str) -> None:
        proc = luigi_cli([*args, "--local-scheduler", "--no-lock"], cfg, tmp_path)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]

    delivered = {}
    for day in (DAYS[3], DAYS[1], DAYS[4], DAYS[0], DAYS[2]):
        luigi_command("Export", "--date", str(day), "--pipeline", "activity")
        delivered[day] = files[day]
        assert_marts_are_the_model(env, delivered)
        assert_exports_are_the_model(env, delivered, sorted(delivered))  # none made for a date not run
    assert_checks_covered_the_late_dates(env, DAYS[2], files[DAYS[2]])

    # a re-run of a whole day from its landing file changes no mart row (not even its row version).
    # (Rerun runs in-process: the luigi command refuses `Rerun --pipeline P` without --entity — its
    # root-task check looks up the empty default entity.)
    from workflows import Rerun

    before = row_versions(env)
    build(Rerun(date=DAYS[2], pipeline="activity", **{"from": "extract"}))
    assert row_versions(env) == before
    assert_marts_are_the_model(env, delivered)

    # the file of DAYS[3] re-delivered changed: its late events for earlier dates (and every other
    # row) replaced; rows only the old version had leave the marts of their dates, in any date
    old, changed = files[DAYS[3]], drop_lines(DAYS[3], version=1)
    write_drop(landing, DAYS[3], changed)
    build(Rerun(date=DAYS[3], pipeline="activity", **{"from": "extract"}))
    delivered[DAYS[3]] = changed
    assert model(delivered) != model({**delivered, DAYS[3]: old})
    assert_marts_are_the_model(env, delivered)
    assert_exports_are_the_model(env, delivered, DAYS)
    assert_checks_covered_the_late_dates(env, DAYS[3], changed, replaced=old)


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_a_late_file_checks_the_earlier_dates_it_changes_and_publishes_nothing_when_one_is_wrong(env, drops):
    _, files = drops
    for day in DAYS[:3]:
        build(export(day))
    earlier = DAYS[2] - dt.timedelta(days=2)
    assert earlier in event_dates(files[DAYS[3]])[0]  # DAYS[3] brings events of that date
    # a mart row no staged event supports, on the earlier date, in a group no file touches
    env.query("INSERT INTO mart.activity_action_counts VALUES (%s, 'phantom', 5, 1)", (earlier,))
    before = marts(env)

    result = luigi.build([export(DAYS[3])], local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "FAILED"
    failed = env.query("SELECT r.failing_sample FROM etl.dq_results r "
                       "JOIN etl.dq_latest_runs l USING (ds, pipeline, run_id) "
                       "WHERE r.ds = %s AND r.check_name = 'activity_action_counts_sum_to_staged_rows' "
                       "AND r.status = 'fail'", (DAYS[3],))
    assert [[s["event_date"] for s in sample] for (sample,) in failed] == [[str(earlier)]]
    # the mart's transaction rolled back: none of its rows changed, on any date
    assert marts(env)["activity_action_counts"] == before["activity_action_counts"]
    # the other marts published DAYS[3]'s events in their own dates
    expected = model({d: files[d] for d in DAYS[:4]})
    assert marts(env)["activity_page_visits"] == expected["activity_page_visits"]

    # once the bad row is gone, redoing the rolled-back mart publishes it
    from workflows import Rerun

    env.query("DELETE FROM mart.activity_action_counts WHERE action = 'phantom' RETURNING 1")
    build(Rerun(date=DAYS[3], pipeline="activity", mart="activity_action_counts"))
    assert_marts_are_the_model(env, {d: files[d] for d in DAYS[:4]})
