"""Landing: find the day's CSV drop and copy it, unchanged, to the raw lake path Extract gives.

The drop is ``<entity>_YYYYMMDD.csv`` in ``[content] landing`` (a local folder or an ``s3://``
prefix); an empty landing means generated drops (deterministic per seed and ds), written to a
temporary folder and landed from there like any other. The copy is streamed; a second streamed
pass describes it (record count, header fields, size, sha256) for the raw ``.meta.json``.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
import tempfile
from pathlib import Path

from targets.lake import s3_client
from workflows.config import demo
from workflows.declarations import Entity
from workflows.pipelines.content.config import content


def landing_name(entity: Entity, ds: dt.date) -> str:
    """File name of the entity's drop for ds, e.g. ``ga4_events_20261120.csv``."""
    return f"{entity.name}_{ds:%Y%m%d}.csv"


def describe(path: str) -> dict:
    """``record_count`` (CSV records after the header, counted as the stager reads them: a quoted
    newline stays inside its value, blank lines are not records, an unterminated quote swallows the
    rest of the file into one — quarantined — record), header ``fields``, ``bytes`` and ``sha256``."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f)
        fields = next(reader, [])
        records = sum(1 for row in reader if row)
    return {"record_count": records, "fields": [f.strip() for f in fields], "bytes": size, "sha256": digest.hexdigest()}


def fetch_drop(entity: Entity, ds: dt.date, local_path: str) -> str:
    """Copy the drop to ``local_path``; return where it came from. A missing drop is a clear error."""
    root = content().landing.strip()
    name = landing_name(entity, ds)
    if not root:
        from workflows.demo import content_data

        cfg = demo()
        with tempfile.TemporaryDirectory(prefix="content-drop-") as tmp:
            generated = content_data.write_file(entity.name, tmp, cfg.seed, ds, content().demo_events * cfg.size)
            shutil.copyfile(generated, local_path)
        return f"generated:{name}"
    if root.startswith("s3://"):
        uri = f"{root.rstrip('/')}/{name}"
        client = s3_client()
        if not client.exists(uri):
            raise FileNotFoundError(f"content drop not found: {uri} ([content] landing)")
        client.get(uri, local_path)
        return uri
    source = Path(root) / name
    if not source.is_file():
        raise FileNotFoundError(f"content drop not found: {source} ([content] landing)")
    shutil.copyfile(source, local_path)
    return str(source)


def land(entity: Entity, ds: dt.date, local_path: str) -> dict:
    """The ``land`` hook: the raw file is the drop, byte for byte; its meta describes it."""
    source = fetch_drop(entity, ds, local_path)
    return {"source": source, "file": landing_name(entity, ds), **describe(local_path)}
