"""Extract: source -> raw lake file ``raw/<pipeline>/<entity>/ds=<ds>/<raw file>``.

JSON sources: the file is an envelope of the records as received (minus
declared secret fields) plus where they came from. File and database sources
land their file themselves, with a ``.meta.json`` beside it. Written
atomically (the data file last), so a re-run simply replaces them.
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


def raw_target(pipeline: Pipeline, entity: Entity, ds: dt.date, suffix: str = "") -> LakeTarget:
    return LakeTarget(lake_key("raw", pipeline.name, entity.name, ds, entity.raw_filename + suffix))


def land(pipeline: Pipeline, entity: Entity, ds: dt.date) -> dict:
    """Land a file/database source: the raw file (written last, atomically) and its meta beside it."""
    started = time.monotonic()
    data = raw_target(pipeline, entity, ds)
    with data.writing() as path:
        meta = pipeline.land(entity, ds, path)
        meta = {**meta, "pipeline": pipeline.name, "entity": entity.name, "ds": str(ds),
                "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 3)}
        raw_target(pipeline, entity, ds, ".meta.json").write_bytes(json.dumps(meta).encode())
    return meta


class Extract(EntityTask):
    """Land one entity's records for ds in the raw zone."""

    def output(self):
        return raw_target(self.decl, self.entity_decl, self.date)

    def run(self):
        if self.decl.land is not None:
            meta = land(self.decl, self.entity_decl, self.date)
        else:
            envelope = extract(self.decl, self.entity_decl, self.date)
            self.output().write_bytes(json.dumps(envelope, ensure_ascii=False).encode())
            meta = envelope["meta"]
        self.report(f"{meta.get('record_count', '?')} records landed", 100, out=meta.get("record_count"))
