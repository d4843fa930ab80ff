"""Targets: lake files (local or S3, atomic) and Postgres partition markers."""
from targets.lake import LakeTarget, lake_key
from targets.markers import PartitionMarker, completed_dates, fresh_dates, freshness

__all__ = ["LakeTarget", "lake_key", "PartitionMarker", "completed_dates", "fresh_dates", "freshness"]
