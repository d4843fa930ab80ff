"""Activity: daily JSONL drops of user activity events and API request logs -> per-ds analytics marts.

Staged by the one engine against ``schemas/activity/*.json``; the transforms are activity's own:
user ids pseudonymised with a keyed HMAC (identically in both sources, the raw id never staged),
IPs masked, a response class per status code. Timestamps without an offset are read in
``[activity] timezone`` (default UTC). Each file stays in its own staging partition (ds); the
marts are keyed by UTC event date, and a file's mart SQL recomputes exactly the (event date,
key) groups it touches from every file's rows, so late events land once in their own date
(docs/late-events.md). Exported as JSON per date.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from workflows.config import activity, demo
from workflows.declarations import LINE, Column, Drop, Entity, Mart, Pipeline
from workflows.demo import activity_data
from workflows.pipelines.activity.transforms import (mask_ips, protect_ip, protect_user_id, pseudonymise,
                                                     response_class, utc_date)

UTC_US = pa.timestamp("us", tz="UTC")
PROTECT = {"user_id": protect_user_id, "ip_address": protect_ip}


def demo_drop(entity: Entity, ds: dt.date, folder: str) -> str:
    """The generated drop (cached per generator version, seed, size and defect rate)."""
    cfg, d = activity(), demo()
    return str(activity_data.write_drop(activity_data.demo_folder(cfg.demo_landing, d.seed, cfg.demo_lines * d.size,
                                                                  cfg.demo_defect_rate),
                                        entity.name, d.seed, ds, cfg.demo_lines * d.size, cfg.demo_defect_rate))


USER_ACTIVITIES = Entity(
    name="user_activities", schema="activity/user_activities.json", source=Drop("user_activities_{yyyymmdd}.jsonl"),
    key=("line_no",),  # events carry no id: the raw line is their identity within the ds
    protect=PROTECT,
    columns=(
        Column("line_no", pa.int64(), LINE),
        Column("user_pseudo_id", pa.string(), "user_id", transform=pseudonymise),
        Column("session_id", pa.string(), "session_id"),
        Column("page_url", pa.string(), "page_url"),
        Column("action", pa.string(), "action"),
        Column("device_type", pa.string(), "device_type"),
        Column("occurred_at", UTC_US, "timestamp"),
        Column("user_agent", pa.string(), "user_agent"),
        Column("ip_address_masked", pa.string(), "ip_address", transform=mask_ips),
        Column("event_date", pa.date32(), derive=utc_date("occurred_at")),  # the mart date it lands in
    ),
)

API_LOGS = Entity(
    name="api_logs", schema="activity/api_logs.json", source=Drop("api_logs_{yyyymmdd}.jsonl"),
    key=("request_id",), duplicates="first", protect=PROTECT,
    columns=(
        Column("line_no", pa.int64(), LINE),
        Column("request_id", pa.string(), "request_id"),
        Column("endpoint", pa.string(), "endpoint"),
        Column("method", pa.string(), "method"),
        Column("status_code", pa.int64(), "status_code"),
        Column("response_class", pa.string(), derive=response_class),
        Column("response_time_ms", pa.float64(), "response_time"),
        Column("requested_at", UTC_US, "timestamp"),
        Column("user_pseudo_id", pa.string(), "user_id", transform=pseudonymise),
        Column("event_date", pa.date32(), derive=utc_date("requested_at")),
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

PIPELINE = Pipeline(
    name="activity",
    entities={e.name: e for e in (USER_ACTIVITIES, API_LOGS)},
    marts=MARTS,
    exports=True,
    export_dates="exports/activity_dates.sql",  # late events: the earlier dates' exports are rewritten too
    settings=activity,
    drops=lambda: activity().landing,
    demo_drop=demo_drop,
)
