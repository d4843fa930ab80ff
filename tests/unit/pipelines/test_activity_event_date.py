"""The staged event_date of activity rows: the UTC date of the instant, whatever zone it was written in."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.conftest import luigi_settings
from tests.unit.pipelines.helpers import stage
from workflows.pipelines.activity import API_LOGS, USER_ACTIVITIES


@pytest.fixture(autouse=True)
def pseudonym_settings():
    with luigi_settings({"activity": {"pseudonym_key": "unit-test-key", "landing": ""}}):
        yield


def event(timestamp: str) -> str:
    return json.dumps({"user_id": 7, "session_id": "s1", "page_url": "/", "action": "view",
                       "timestamp": timestamp, "device_type": "mobile"})


def request(i: int, timestamp: str) -> str:
    return json.dumps({"request_id": f"r{i}", "endpoint": "/api", "method": "GET", "status_code": 200,
                       "response_time": 1, "timestamp": timestamp, "user_id": 7})


# (written, timezone for zone-less text, UTC date)
CASES = [
    ("2026-11-19T23:30:00-08:00", "UTC", dt.date(2026, 11, 20)),        # evening in the US: next day in UTC
    ("2026-11-20T01:30:00+05:30", "UTC", dt.date(2026, 11, 19)),        # early in India: previous day in UTC
    ("2026-11-20T23:59:59.999999Z", "UTC", dt.date(2026, 11, 20)),      # the last microsecond of the day
    ("2026-11-21T00:00:00Z", "UTC", dt.date(2026, 11, 21)),             # midnight opens the next day
    ("2026-11-20T00:30:00", "Europe/Berlin", dt.date(2026, 11, 19)),    # zone-less, read in CET = UTC+1
    ("2026-07-01 01:00:00", "America/New_York", dt.date(2026, 7, 1)),   # zone-less, EDT = UTC-4: 05:00Z
]


@pytest.mark.parametrize("entity", [USER_ACTIVITIES, API_LOGS], ids=lambda e: e.name)
def test_event_date_is_the_utc_date_of_the_instant(entity, tmp_path):
    for i, (text, zone, expected) in enumerate(CASES):
        line = event(text) if entity is USER_ACTIVITIES else request(i, text)
        rows, rejects, _ = stage(entity, tmp_path, line + "\n", timezone=zone)
        assert not rejects
        instant = rows[0]["occurred_at" if entity is USER_ACTIVITIES else "requested_at"]
        assert (rows[0]["event_date"], instant.astimezone(dt.timezone.utc).date()) == (expected, expected), text
