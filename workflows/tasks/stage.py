"""Stage: raw file -> typed Parquet ``staging/…/<entity>.parquet``; rejects -> ``quarantine/…/rejects.jsonl``.

The one staging engine (``workflows.staging``) reads the raw file (JSON envelope, JSON Lines or
CSV) against the entity's contract; every record is staged or quarantined with its rule, reason
and line. The counts go to ``<entity>.stats.json``. All three files are rewritten whole on a
re-run (the Parquet file last), then the marker ``stage/<pipeline>/<entity>`` (code version: the
entity's declaration, schema and the engine's contract; fresh while newer than its raw file's
marker), so staging is idempotent and a crash before the marker stages again.
"""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from targets import PartitionMarker
from workflows import layout, warehouse
from workflows.config import staging
from workflows.staging import engine
from workflows.tasks.base import EntityTask, input_targets
from workflows.tasks.extract import Extract


def read_keys(target, column: str) -> pa.Array:
    """One column of a staged Parquet file (the valid keys a lookup checks against)."""
    with target.local_path() as path:
        return pq.read_table(path, columns=[column]).column(column).combine_chunks()


class Stage(EntityTask):
    """Raw file -> typed Parquet + quarantine + stats, for one entity and ds."""

    def requires(self):
        lookups = {lk.entity for lk in self.entity_decl.lookups}
        return {
            "raw": Extract(date=self.date, pipeline=self.pipeline, entity=self.entity),
            **{name: Stage(date=self.date, pipeline=self.pipeline, entity=name) for name in lookups},
        }

    def output(self):
        return {
            "data": layout.staged(self.pipeline, self.entity, self.date),
            "quarantine": layout.quarantine(self.pipeline, self.entity, self.date),
            "stats": layout.stage_stats(self.pipeline, self.entity, self.date),
        }

    def marker(self) -> PartitionMarker:
        return layout.marker(f"stage/{self.pipeline}/{self.entity}", self.date, "Stage", lambda: input_targets(self))

    def complete(self) -> bool:
        return all(t.exists() for t in self.output().values()) and self.marker().exists()

    def run(self):
        entity = self.entity_decl
        spec = entity.stage_spec(self.decl.settings().timezone, staging().max_record_bytes)
        refs = {lk.entity: read_keys(self.input()[lk.entity]["data"], lk.key) for lk in entity.lookups}
        extra = {"pipeline": self.pipeline, "entity": self.entity, "ds": str(self.date)}
        out = self.output()
        with self.input()["raw"].local_path() as raw, out["data"].writing() as data, \
                out["quarantine"].writing() as rejects:
            stats = engine.stage(spec, raw, data, rejects, extra, refs)
            out["stats"].write_bytes(json.dumps(stats.as_dict(), indent=1).encode())
        with warehouse.transaction() as cur:
            self.marker().write(cur, stats.staged)
        self.report(f"{stats.records} records -> {stats.staged} rows staged, {stats.quarantined} quarantined", 100,
                    **{"in": stats.records, "out": stats.staged, "quarantined": stats.quarantined_units})
