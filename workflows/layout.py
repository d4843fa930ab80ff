"""Where every step's output lives: lake files per zone and Postgres partition markers.

``raw/<pipeline>/<entity>/ds=<ds>/<entity>.<json|jsonl|csv>`` (+ ``.meta.json``),
``staging/…/<entity>.parquet`` (+ ``<entity>.stats.json``), ``quarantine/…/rejects.jsonl``,
``reports/dq/ds=<ds>/dq_report_<ds>.xlsx``, ``exports/<pipeline>/ds=<ds>/…``; markers in
``etl.partition_markers`` named ``<step>/<pipeline>/<entity or mart>``.
"""
from __future__ import annotations

import datetime as dt

from targets import LakeTarget, PartitionMarker, lake_key
from workflows import warehouse
from workflows.config import lake
from workflows.tasks import versions


def lake_target(key: str) -> LakeTarget:
    """A file of the configured lake (``[lake] root``)."""
    return LakeTarget(key, lake().root)


def raw(pipeline: str, entity: str, ds: dt.date, filename: str) -> LakeTarget:
    return lake_target(lake_key("raw", pipeline, entity, ds, filename))


def staged(pipeline: str, entity: str, ds: dt.date) -> LakeTarget:
    return lake_target(lake_key("staging", pipeline, entity, ds, f"{entity}.parquet"))


def stage_stats(pipeline: str, entity: str, ds: dt.date) -> LakeTarget:
    return lake_target(lake_key("staging", pipeline, entity, ds, f"{entity}.stats.json"))


def quarantine(pipeline: str, entity: str, ds: dt.date) -> LakeTarget:
    return lake_target(lake_key("quarantine", pipeline, entity, ds, "rejects.jsonl"))


def report(ds: dt.date) -> LakeTarget:
    return lake_target(lake_key("reports", "dq", "", ds, f"dq_report_{ds}.xlsx"))


def export(pipeline: str, ds: dt.date, filename: str) -> LakeTarget:
    return lake_target(lake_key("exports", pipeline, "", ds, filename))


def marker(target: str, ds: dt.date, family: str = "", inputs=()) -> PartitionMarker:
    """The partition marker ``target`` for ``ds`` in the configured warehouse, carrying the current
    code version of ``target``; ``inputs``: the markers it is made from (for freshness)."""
    return PartitionMarker(target, ds, family, connection=warehouse.shared, version=lambda: versions.of(target),
                           inputs=inputs)
