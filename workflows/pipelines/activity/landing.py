"""Landing: find the day's JSONL drop (local folder, s3:// prefix, or generated) and copy it unchanged.

The land hook streams the drop into the raw zone's temp path, then scans it once
for the ``.meta.json`` facts the checks need: ``record_count`` (non-blank lines)
and ``fields`` (top-level keys seen in lines that parse as JSON objects).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

from workflows.config import demo
from workflows.declarations import Entity
from workflows.demo import activity_data
from workflows.pipelines.activity import jsonl
from workflows.pipelines.activity.settings import activity


class DropMissing(FileNotFoundError):
    """The landing area has no drop for this entity and ds."""


def demo_folder() -> Path:
    """Folder of the generated drops for the generator version, seed, size, lines and defect rate."""
    cfg, d = activity(), demo()
    root = Path(cfg.demo_landing.strip() or Path(tempfile.gettempdir()) / "luigi-warehouse-activity")
    return root / (f"v{activity_data.GENERATOR_VERSION}-seed={d.seed}-lines={cfg.demo_lines * d.size}"
                   f"-defects={cfg.demo_defect_rate:g}")


def source_of(entity: Entity, ds: dt.date) -> str:
    """Where the drop for ``ds`` is: ``[activity] landing`` + file name, or a generated file."""
    name = activity_data.file_name(entity.name, ds)
    landing = activity().landing.strip()
    if landing:
        return f"{landing.rstrip('/')}/{name}"
    cfg, d = activity(), demo()
    return str(activity_data.write_drop(demo_folder(), entity.name, d.seed, ds, cfg.demo_lines * d.size,
                                        cfg.demo_defect_rate))


def copy_drop(source: str, local_path: str) -> None:
    """Copy the drop byte for byte to ``local_path`` (S3: a streamed download)."""
    if source.startswith("s3://"):
        from targets.lake import s3_client  # the lake's client: same [s3] endpoint and credentials

        client = s3_client()
        if not client.exists(source):
            raise DropMissing(f"no activity drop at {source}")
        client.get(source, local_path)
        return
    if not os.path.isfile(source):
        raise DropMissing(f"no activity drop at {source}")
    shutil.copyfile(source, local_path)


def scan(path: str) -> tuple[int, list[str]]:
    """(records, sorted top-level keys seen) of a JSONL file, streamed."""
    count, fields = 0, set()
    for _, line in jsonl.records(path):
        count += 1
        try:
            value = jsonl.decode(line)
        except ValueError:
            continue
        if type(value) is dict:
            fields.update(value)
    return count, sorted(fields)


def land(entity: Entity, ds: dt.date, local_path: str) -> dict:
    """The ``land`` hook: the drop, unchanged, at ``local_path``; returns its meta."""
    source = source_of(entity, ds)
    copy_drop(source, local_path)
    count, fields = scan(local_path)
    return {"source": source, "record_count": count, "fields": fields, "bytes": os.path.getsize(local_path)}
