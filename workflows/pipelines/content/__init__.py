"""Content: GA4 article events, GAM ad delivery and CMS article snapshots, landed as daily CSV drops.

Marts: ``mart.article_daily_metrics`` (event_date × content_id), ``mart.ad_daily_revenue``
(served_date × content_id) and the materialized view ``mart.daily_summary`` joining both,
refreshed by the extra task RefreshDailySummary. Staging keeps history (GA4 events deduplicated
by row hash, GAM rows versioned by business key, CMS snapshots per ds), and the marts recompute
exactly the keys each file touched, so duplicates, corrections and late rows land exactly once.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from workflows.declarations import Column, Entity, Mart, Pipeline
from workflows.pipelines.content import landing
from workflows.pipelines.content.csv_stage import LINE_COLUMN, stage_csv, stage_csv_last_line_wins

UTC_US = pa.timestamp("us", tz="UTC")

GA4_EVENTS = Entity(
    name="ga4_events",
    schema="content/ga4_events.json",
    raw_file="ga4_events.csv",
    key=("row_hash",),
    columns=(
        Column("event_at", UTC_US, "event_timestamp"),
        Column("event_name", pa.string(), "event_name"),
        Column("user_pseudo_id", pa.string(), "user_pseudo_id"),
        Column("session_id", pa.int64(), "session_id"),
        Column("content_id", pa.int64(), "content_id"),
        Column("page_location", pa.string(), "page_location"),
        Column("engagement_time_msec", pa.int64(), "engagement_time_msec"),
        Column("device_category", pa.string(), "device_category"),
        Column("country", pa.string(), "country"),
    ),
    stager=stage_csv,
    merge_sql="content/merge_ga4_events.sql",
)

GAM_DELIVERY = Entity(
    name="gam_delivery",
    schema="content/gam_delivery.json",
    raw_file="gam_delivery.csv",
    key=("served_at", "ad_unit", "line_item", "creative", "content_id"),
    columns=(
        Column("served_at", UTC_US, "served_at"),
        Column("site", pa.string(), "site"),
        Column("ad_unit", pa.string(), "ad_unit"),
        Column("line_item", pa.string(), "line_item"),
        Column("creative", pa.string(), "creative"),
        Column("content_id", pa.int64(), "content_id"),
        Column("impressions", pa.int64(), "impressions"),
        Column("clicks", pa.int64(), "clicks"),
        Column("revenue_usd", pa.decimal128(18, 6), "revenue_usd"),
        Column(LINE_COLUMN, pa.int32()),
    ),
    stager=stage_csv_last_line_wins,  # a restated key: earlier lines quarantined as superseded
    merge_sql="content/merge_gam_delivery.sql",
)

CMS_ARTICLES = Entity(
    name="cms_articles",
    schema="content/cms_articles.json",
    raw_file="cms_articles.csv",
    key=("content_id",),
    columns=(
        Column("content_id", pa.int64(), "content_id"),
        Column("site", pa.string(), "site"),
        Column("title", pa.string(), "title"),
        Column("author", pa.string(), "author"),
        Column("section", pa.string(), "section"),
        Column("published_at", UTC_US, "publish_timestamp"),
    ),
    stager=stage_csv,  # snapshot: Load replaces the ds partition
)


def extra_tasks(ds: dt.date) -> list:
    """The daily_summary refresh after both marts (imported here: it needs the generic tasks)."""
    from workflows.pipelines.content.refresh import RefreshDailySummary

    return [RefreshDailySummary(date=ds)]


PIPELINE = Pipeline(
    name="content",
    entities={e.name: e for e in (GA4_EVENTS, GAM_DELIVERY, CMS_ARTICLES)},
    marts={
        "article_daily_metrics": Mart(
            "article_daily_metrics", "content/mart_article_daily_metrics.sql", ("ga4_events", "cms_articles")
        ),
        "ad_daily_revenue": Mart("ad_daily_revenue", "content/mart_ad_daily_revenue.sql", ("gam_delivery",)),
    },
    land=landing.land,
    extra_tasks=extra_tasks,
)
