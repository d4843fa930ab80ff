"""Extract: source -> raw lake file ``raw/<pipeline>/<entity>/ds=<ds>/<entity>.json``.

The file holds the records as received (minus declared secret fields) plus
where they came from. Written atomically, so a re-run simply replaces it.
"""
from __future__ import annotations

import datetime as dt
import json
import time

from targets import LakeTarget, lake_key
from workflows.base import EntityTask
from workflows.declarations import Entity, Pipeline


def extract(pipeline: Pipeline, entity: Entity, ds: dt.date) -> dict:
    """Fetch one partition and return the raw envelope ``{meta, records}``."""
    started = time.monotonic()
    records, meta = pipeline.fetch(entity, ds)
    if entity.drop_fields:
        for rec in records:
            if isinstance(rec, dict):
                for name in entity.drop_fields:
                    rec.pop(name, None)
    meta = {
        **meta,
        "pipeline": pipeline.name,
        "entity": entity.name,
        "ds": str(ds),
        "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "record_count": len(records),
        "seconds": round(time.monotonic() - started, 3),
    }
    return {"meta": meta, "records": records}


def raw_target(pipeline: str, entity: str, ds: dt.date) -> LakeTarget:
    return LakeTarget(lake_key("raw", pipeline, entity, ds, f"{entity}.json"))


class Extract(EntityTask):
    """Land one entity's records for ds in the raw zone."""

    def output(self):
        return raw_target(self.pipeline, self.entity, self.date)

    def run(self):
        envelope = extract(self.decl, self.entity_decl, self.date)
        self.output().write_bytes(json.dumps(envelope, ensure_ascii=False).encode())
        self.report(f"{envelope['meta']['record_count']} records fetched", 100)
