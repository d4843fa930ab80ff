"""File drops: copy the day's file (``Drop`` pattern) from the pipeline's landing folder or s3:// prefix.

An empty landing setting means generated drops: the pipeline's ``demo_drop`` writes the file
into a temporary folder and it is landed from there like any other. The copy is byte for byte
(streamed; a local file is copied by the kernel); a missing drop is one clear line.
"""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from targets.lake import s3_client
from workflows.declarations import Drop, Entity, Pipeline
from workflows.landing.errors import DropMissing


def land(pipeline: Pipeline, entity: Entity, ds: dt.date, path: str) -> dict:
    """Copy the entity's drop for ds to ``path``; return where it came from."""
    drop: Drop = entity.source
    name = drop.name(ds)
    root = pipeline.drops().strip()
    if not root:
        with tempfile.TemporaryDirectory(prefix=f"{pipeline.name}-drop-") as tmp:
            generated = pipeline.demo_drop(entity, ds, tmp)
            shutil.copyfile(generated, path)
        return {"source": f"generated:{name}", "file": name}
    if root.startswith("s3://"):
        uri = f"{root.rstrip('/')}/{name}"
        client = s3_client()
        if not client.exists(uri):
            raise DropMissing(f"{pipeline.name} drop not found: {uri} ([{pipeline.name}] landing)")
        client.get(uri, path)
        return {"source": uri, "file": name}
    source = Path(root) / name
    if not source.is_file():
        raise DropMissing(f"{pipeline.name} drop not found: {source} ([{pipeline.name}] landing)")
    shutil.copyfile(source, path)
    return {"source": str(source), "file": name}
