"""Activity: daily JSONL drops of user activity events and API request logs -> per-ds analytics marts.

Extract lands each drop unchanged (``landing.land``); Stage streams it through
strict JSON, the JSON Schema and the row transforms (``staging.stage_jsonl``):
UTC timestamps, user ids pseudonymised with a keyed HMAC (identically in both
sources), IPs masked, a response class per status code. Marts are set-based SQL
per ds; ``ActivityExport`` writes them as JSON to ``exports/activity/ds=…/``.
"""
from __future__ import annotations

import datetime as dt
import functools

import pyarrow as pa

from workflows.declarations import Column, Entity, Mart, Pipeline
from workflows.pipelines.activity import landing
from workflows.pipelines.activity.staging import activity_row, api_row, stage_jsonl

TIMESTAMP = pa.timestamp("us", tz="UTC")

USER_ACTIVITIES = Entity(
    name="user_activities",
    schema="activity/user_activities.json",
    raw_file="user_activities.jsonl",
    key=("line_no",),  # events carry no id: the raw line is their identity within the ds
    stager=functools.partial(stage_jsonl, build_row=activity_row),
    columns=(
        Column("line_no", pa.int64()),
        Column("user_pseudo_id", pa.string(), "user_id"),
        Column("session_id", pa.string(), "session_id"),
        Column("page_url", pa.string(), "page_url"),
        Column("action", pa.string(), "action"),
        Column("device_type", pa.string(), "device_type"),
        Column("occurred_at", TIMESTAMP, "timestamp"),
        Column("user_agent", pa.string(), "user_agent"),
        Column("ip_address_masked", pa.string(), "ip_address"),
    ),
)

API_LOGS = Entity(
    name="api_logs",
    schema="activity/api_logs.json",
    raw_file="api_logs.jsonl",
    key=("request_id",),
    stager=functools.partial(stage_jsonl, build_row=api_row, unique="request_id"),
    columns=(
        Column("line_no", pa.int64()),
        Column("request_id", pa.string(), "request_id"),
        Column("endpoint", pa.string(), "endpoint"),
        Column("method", pa.string(), "method"),
        Column("status_code", pa.int64(), "status_code"),
        Column("response_class", pa.string()),
        Column("response_time_ms", pa.float64(), "response_time"),
        Column("requested_at", TIMESTAMP, "timestamp"),
        Column("user_pseudo_id", pa.string(), "user_id"),
    ),
)

ACTIVITY_MARTS = ("activity_action_counts", "activity_page_visits", "activity_device_counts",
                  "activity_user_action_intervals")
API_MARTS = ("activity_status_code_counts", "activity_endpoint_latency", "activity_requests_per_user")
MARTS = {
    **{name: Mart(name, f"activity/mart_{name}.sql", ("user_activities",)) for name in ACTIVITY_MARTS},
    **{name: Mart(name, f"activity/mart_{name}.sql", ("api_logs",)) for name in API_MARTS},
    "activity_user_day": Mart("activity_user_day", "activity/mart_activity_user_day.sql",
                              ("user_activities", "api_logs")),
}


def extra_tasks(ds: dt.date) -> list:
    """The per-ds JSON export of every mart (its marker is written after the files)."""
    from workflows.pipelines.activity.export import ActivityExport  # lazy: it imports the generic tasks

    return [ActivityExport(date=ds, pipeline="activity")]


PIPELINE = Pipeline(
    name="activity",
    entities={e.name: e for e in (USER_ACTIVITIES, API_LOGS)},
    marts=MARTS,
    land=landing.land,
    extra_tasks=extra_tasks,
)
