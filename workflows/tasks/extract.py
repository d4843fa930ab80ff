"""Extract: source -> raw lake file ``raw/<pipeline>/<entity>/ds=<ds>/<entity>.<json|jsonl|csv>``.

The source lands the file as received (see ``workflows.landing``); its meta lands beside it as
``<file>.meta.json``, then the data file is committed (atomically, last), so a re-run simply
replaces both.
"""
from __future__ import annotations

import json

from workflows import landing, layout
from workflows.tasks.base import EntityTask


class Extract(EntityTask):
    """Land one entity's raw file for ds."""

    def output(self):
        return layout.raw(self.pipeline, self.entity, self.date, self.entity_decl.raw_filename)

    def run(self):
        entity = self.entity_decl
        with self.output().writing() as path:
            meta = landing.land(self.decl, entity, self.date, path)
            meta = {**meta, "pipeline": self.pipeline, "entity": self.entity, "ds": str(self.date)}
            layout.raw(self.pipeline, self.entity, self.date, f"{entity.raw_filename}.meta.json").write_bytes(
                json.dumps(meta, default=str).encode())
        count = meta.get("record_count", meta.get("lines"))
        self.report(f"{count} records landed ({meta['bytes']:,} bytes)", 100, out=count)
