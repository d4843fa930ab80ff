"""Stage a tiny inline raw file through the one staging engine: (staged rows, rejects in line order, stats)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workflows.declarations import Entity
from workflows.staging import engine


def envelope(records: list) -> str:
    """The JSON envelope an HTTP source lands: ``{meta, records}``."""
    return json.dumps({"meta": {}, "records": records})


def stage(entity: Entity, tmp_path: Path, raw: str | bytes, *, timezone: str = "UTC",
          refs: dict[str, pa.Array] | None = None, max_record_bytes: int = 1 << 20
          ) -> tuple[list[dict], list[dict], engine.StageStats]:
    """Write ``raw`` as the entity's raw file, stage it, read back the Parquet rows and the rejects."""
    folder = tmp_path / f"stage-{len(list(tmp_path.glob('stage-*')))}"
    folder.mkdir()
    raw_path = folder / entity.raw_filename
    raw_path.write_bytes(raw.encode("utf-8") if isinstance(raw, str) else raw)
    parquet, rejects = folder / "staged.parquet", folder / "rejects.jsonl"
    stats = engine.stage(entity.stage_spec(timezone, max_record_bytes), str(raw_path), str(parquet), str(rejects),
                         {"entity": entity.name}, refs)
    table = pq.read_table(parquet)
    assert table.schema == entity.arrow_schema()
    assert table.num_rows == stats.staged
    found = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert len(found) == stats.quarantined
    assert all(r["entity"] == entity.name for r in found)
    return table.to_pylist(), sorted(found, key=lambda r: r["line"]), stats
