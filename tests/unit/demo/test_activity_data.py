"""The activity drop generator: deterministic per (seed, ds), sized, with the advertised defects."""
import datetime as dt
import io
import json
import re
from collections import Counter

import pytest

import jsonschema

from workflows.declarations import load_schema
from workflows.demo import activity_data as data

DS = dt.date(2026, 11, 20)


def text(entity: str, seed: int = 1, ds: dt.date = DS, lines: int = 4000, rate: float = 0.1) -> str:
    buf = io.StringIO()
    data.WRITERS[entity](buf, seed, ds, lines, rate)
    return buf.getvalue()


@pytest.mark.parametrize("entity", ["user_activities", "api_logs"])
def test_deterministic_per_seed_and_ds_and_sized(entity):
    first = text(entity)
    assert first == text(entity)
    assert first != text(entity, seed=2) and first != text(entity, ds=DS + dt.timedelta(days=1))
    assert len(first.splitlines()) == 4000 and first.endswith("\n")


def strict(line: str):
    try:
        return json.loads(line, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError:
        return None


def test_clean_lines_fall_in_the_utc_day_in_several_zones():
    lines = text("user_activities", rate=0.0).splitlines()
    records = [strict(line) for line in lines]
    instants = [dt.datetime.fromisoformat(r["timestamp"]) for r in records]
    assert all(dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc) <= t < dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
               for t in instants)
    offsets = Counter(t.utcoffset() for t in instants)
    assert len(offsets) >= 5
    assert any(" " in r["timestamp"] for r in records) and any("." in r["timestamp"] for r in records)
    assert {r["action"] for r in records} == set(data.ACTIONS) and {r["device_type"] for r in records} == set(data.DEVICES)
    # double clicks: one user, one instant, twice
    assert len({(r["user_id"], t) for r, t in zip(records, instants)}) < len(records)
    # sessions are opaque tokens, one user's each, at most three a day
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["session_id"]) for r in records)
    owners = {}
    for r in records:
        owners.setdefault(r["session_id"], set()).add(r["user_id"])
    assert all(len(users) == 1 for users in owners.values())
    assert max(Counter(next(iter(u)) for u in owners.values()).values()) <= 3


def test_defect_rate_and_kinds():
    api = text("api_logs", lines=6000, rate=0.1).splitlines()
    parsed = [strict(line) for line in api]
    not_json = sum(p is None or not isinstance(p, dict) for p in parsed)
    objects = [p for p in parsed if isinstance(p, dict)]
    ids = Counter(p.get("request_id") for p in objects)
    bad_status = sum(isinstance(p.get("status_code"), int) and not 100 <= p["status_code"] <= 599 for p in objects)
    negative = sum(isinstance(p.get("response_time"), (int, float)) and p["response_time"] < 0 for p in objects)
    assert not_json > 0 and bad_status > 0 and negative > 0 and any(n > 1 for n in ids.values())
    naive = sum(isinstance(p.get("timestamp"), str) and dt.datetime.fromisoformat(p["timestamp"]).tzinfo is None
                for p in objects)
    assert naive > 0
    # about 10% x 8/9 of the lines are broken (the schema, a bad date or a replayed id): 6%..12% is ~7 sigma.
    # A naive timestamp is no defect any more (read in [activity] timezone): 8 of the 9 kinds break a line (was 10%).
    check = jsonschema.Draft202012Validator(load_schema("activity/api_logs.json"))
    seen, broken = set(), 0
    for p in parsed:
        ok = isinstance(p, dict) and check.is_valid(p) and p["request_id"] not in seen
        try:
            ok = ok and isinstance(dt.datetime.fromisoformat(p["timestamp"]), dt.datetime)
        except ValueError:
            ok = False
        broken += not ok
        if ok:
            seen.add(p["request_id"])
    assert 0.06 < broken / len(api) < 0.12


def test_write_drop_is_atomic_and_reused(tmp_path):
    path = data.write_drop(tmp_path, "api_logs", 5, DS, 50, 0.0)
    assert path.name == "api_logs_20261120.jsonl" and len(path.read_text().splitlines()) == 50
    path.write_text("kept\n")
    assert data.write_drop(tmp_path, "api_logs", 5, DS, 50, 0.0).read_text() == "kept\n"  # present: reused
    assert [p.name for p in tmp_path.iterdir()] == ["api_logs_20261120.jsonl"]  # no temp file left
