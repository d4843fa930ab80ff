"""Content: GA4 article events, GAM ad delivery and CMS article snapshots, landed as daily CSV drops.

Marts: ``mart.article_daily_metrics`` (event_date × content_id), ``mart.ad_daily_revenue``
(served_date × content_id) and the materialized view ``mart.daily_summary`` joining both,
refreshed after them. Staging keeps history (GA4 events deduplicated by row hash, GAM rows
versioned by business key, CMS snapshots per ds), and the marts recompute exactly the keys each
file touched, so duplicates, corrections and late rows land exactly once.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from workflows.config import content, demo
from workflows.declarations import LINE, Column, Drop, Entity, Mart, Pipeline, View
from workflows.demo import content_data
from workflows.staging.columns import row_hash

UTC_US = pa.timestamp("us", tz="UTC")
GA4_FIELDS = ("event_at", "event_name", "user_pseudo_id", "session_id", "content_id", "page_location",
              "engagement_time_msec", "device_category", "country")


def demo_drop(entity: Entity, ds: dt.date, folder: str) -> str:
    """Write the generated drop of ``entity`` for ds into ``folder``; its path."""
    return str(content_data.write_file(entity.name, folder, demo().seed, ds, content().demo_events * demo().size))


GA4_EVENTS = Entity(
    name="ga4_events", schema="content/ga4_events.json", source=Drop("ga4_events_{yyyymmdd}.csv"),
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
        # the event's identity: duplicates within and across files collapse on it (merge_ga4_events.sql)
        Column("row_hash", pa.string(), derive=row_hash("ga4_events/v2", GA4_FIELDS)),
    ),
    merge_sql="content/merge_ga4_events.sql",
)

GAM_DELIVERY = Entity(
    name="gam_delivery", schema="content/gam_delivery.json", source=Drop("gam_delivery_{yyyymmdd}.csv"),
    key=("served_at", "ad_unit", "line_item", "creative", "content_id"),
    duplicates="last",  # a file restating a key: its last line wins, the earlier ones are superseded
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
        Column("source_line", pa.int32(), LINE),
    ),
    merge_sql="content/merge_gam_delivery.sql",
)

CMS_ARTICLES = Entity(
    name="cms_articles", schema="content/cms_articles.json", source=Drop("cms_articles_{yyyymmdd}.csv"),
    key=("content_id",), duplicates="first",  # a snapshot: Load replaces the ds partition
    columns=(
        Column("content_id", pa.int64(), "content_id"),
        Column("site", pa.string(), "site"),
        Column("title", pa.string(), "title"),
        Column("author", pa.string(), "author"),
        Column("section", pa.string(), "section"),
        Column("published_at", UTC_US, "publish_timestamp"),
    ),
)

PIPELINE = Pipeline(
    name="content",
    entities={e.name: e for e in (GA4_EVENTS, GAM_DELIVERY, CMS_ARTICLES)},
    marts={
        "article_daily_metrics": Mart("article_daily_metrics", "content/mart_article_daily_metrics.sql",
                                      ("ga4_events", "cms_articles")),
        "ad_daily_revenue": Mart("ad_daily_revenue", "content/mart_ad_daily_revenue.sql", ("gam_delivery",)),
    },
    views=(View("daily_summary", "content/refresh_daily_summary.sql"),),
    export_dates="exports/content_dates.sql",  # late rows: an Export also rewrites the earlier dates' exports
    settings=content,
    drops=lambda: content().landing,
    demo_drop=demo_drop,
)
