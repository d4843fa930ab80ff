"""Extract: source -> raw lake file ``raw/<pipeline>/<entity>/ds=<ds>/<entity>.<json|jsonl|csv>``.

The source lands the file as received (see ``workflows.landing``); its meta lands beside it as
``<file>.meta.json``, then the data file is committed (atomically), then the marker
``extract/<pipeline>/<entity>`` (what Stage's freshness compares with). A crash before the marker
leaves the task incomplete, and a re-run replaces all three. A snapshot source (an API serving only
now) is never re-fetched for a ds older than ``[<pipeline>] snapshot_max_age_days``: when its raw
file is there, the file is kept and only marked.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from targets import PartitionMarker
from workflows import landing, layout, warehouse
from workflows.declarations import Http, Pipeline
from workflows.tasks.base import EntityTask

log = logging.getLogger("luigi-interface")


def snapshot_too_old(decl: Pipeline, entity: str, ds: dt.date) -> bool:
    """The entity's source serves only the present, and ds is past: its raw file cannot be landed again."""
    source = decl.entity(entity).source
    if not (isinstance(source, Http) and source.snapshot):
        return False
    age = (dt.datetime.now(dt.timezone.utc).date() - ds).days
    return age > getattr(decl.settings(), "snapshot_max_age_days", 1)


class Extract(EntityTask):
    """Land one entity's raw file for ds."""

    def output(self):
        return layout.raw(self.pipeline, self.entity, self.date, self.entity_decl.raw_filename)

    def marker(self) -> PartitionMarker:
        return layout.marker(f"extract/{self.pipeline}/{self.entity}", self.date, "Extract")

    def complete(self) -> bool:
        return self.output().exists() and self.marker().exists()

    def run(self):
        entity = self.entity_decl
        if snapshot_too_old(self.decl, self.entity, self.date) and self.output().exists():
            meta_file = layout.raw(self.pipeline, self.entity, self.date, f"{entity.raw_filename}.meta.json")
            meta = json.loads(meta_file.read_bytes()) if meta_file.exists() else {}
            count = meta.get("record_count", meta.get("lines")) or 0
            with warehouse.transaction() as cur:
                self.marker().write(cur, count)
            self.report(f"{self.entity} is a snapshot source: ds {self.date} is not fetched again, "
                        f"the landed raw file is kept ({count} records)", 100, out=count)
            return
        with self.output().writing() as path:
            meta = landing.land(self.decl, entity, self.date, path)
            meta = {**meta, "pipeline": self.pipeline, "entity": self.entity, "ds": str(self.date)}
            layout.raw(self.pipeline, self.entity, self.date, f"{entity.raw_filename}.meta.json").write_bytes(
                json.dumps(meta, default=str).encode())
        count = meta.get("record_count", meta.get("lines"))
        with warehouse.transaction() as cur:
            self.marker().write(cur, count or 0)
        self.report(f"{count} records landed ({meta['bytes']:,} bytes)", 100, out=count)
