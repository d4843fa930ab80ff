"""Stage: raw records -> typed Parquet ``staging/…/<entity>.parquet``; rejects -> ``quarantine/…/rejects.jsonl``.

Per record: validate against the entity's JSON Schema, explode, select/rename/
parse/default/derive the declared columns, then enforce the key's uniqueness
and declared lookups. A record (or exploded line) that fails any rule is
quarantined with the rule and the reason, and is not staged. Both files are
rewritten whole on a re-run, so staging is idempotent.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq

from targets import LakeTarget, lake_key
from workflows.base import EntityTask
from workflows.declarations import Entity, validator
from workflows.extract import Extract

_MISSING = object()


def _get(record: dict, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _reject(rule: str, reason: str, record: Any) -> dict:
    return {"rule": rule, "reason": reason, "record": record}


def _rows(entity: Entity, record: dict) -> Iterable[tuple[dict, dict]]:
    """(context, row) per staged row: the record itself, or one per exploded element."""
    if entity.explode is None:
        yield record, record
        return
    for item in record.get(entity.explode) or []:
        yield {**record, "item": item}, {k: v for k, v in record.items() if k != entity.explode} | {"item": item}


def _row_values(entity: Entity, context: dict) -> dict:
    row: dict[str, Any] = {}
    for col in entity.columns:
        if col.derive is not None:
            continue
        value = _get(context, col.source) if col.source else _MISSING
        if value is _MISSING or value is None:
            value = col.default
        elif col.parse is not None:
            value = col.parse(value)
        row[col.name] = value
    for col in entity.columns:
        if col.derive is not None:
            row[col.name] = col.derive(row)
    return row


def stage_records(
    entity: Entity, records: list, valid_refs: dict[str, set] | None = None
) -> tuple[pa.Table, list[dict]]:
    """Validate and shape raw records. Returns (staged table, quarantined rejects)."""
    valid_refs = valid_refs or {}
    check = validator(entity.schema)
    rows: list[dict] = []
    rejects: list[dict] = []
    seen: set[tuple] = set()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            rejects.append(_reject("schema", f"record {index} is {type(record).__name__}, not an object", record))
            continue
        error = jsonschema.exceptions.best_match(check.iter_errors(record))
        if error is not None:
            rejects.append(_reject("schema", f"{error.json_path}: {error.message}", record))
            continue
        for context, raw_row in _rows(entity, record):
            try:
                row = _row_values(entity, context)
                for col in entity.columns:  # what the contract allows must also fit the staged type
                    pa.scalar(row[col.name], type=col.type)
            except (TypeError, ValueError, OverflowError, pa.ArrowException) as exc:
                rejects.append(_reject("parse", f"{type(exc).__name__}: {exc}", raw_row))
                continue
            key = tuple(row[k] for k in entity.key)
            if key in seen:
                rejects.append(_reject("duplicate_key", f"duplicate {', '.join(entity.key)} = {key}", raw_row))
                continue
            bad_ref = next(
                (lk for lk in entity.lookups if row[lk.column] not in valid_refs.get(lk.entity, set())), None
            )
            if bad_ref is not None:
                reason = f"{bad_ref.column} = {row[bad_ref.column]} not found in {bad_ref.entity}.{bad_ref.key} for this ds"
                rejects.append(_reject("unknown_reference", reason, raw_row))
                continue
            seen.add(key)
            rows.append(row)
    schema = entity.arrow_schema()
    table = pa.Table.from_pydict({c.name: [r[c.name] for r in rows] for c in entity.columns}, schema=schema)
    return table, rejects


def staged_target(pipeline: str, entity: str, ds: dt.date) -> LakeTarget:
    return LakeTarget(lake_key("staging", pipeline, entity, ds, f"{entity}.parquet"))


def quarantine_target(pipeline: str, entity: str, ds: dt.date) -> LakeTarget:
    return LakeTarget(lake_key("quarantine", pipeline, entity, ds, "rejects.jsonl"))


def read_column(target: LakeTarget, column: str) -> set:
    with target.local_path() as path:
        return set(pq.read_table(path, columns=[column]).column(column).to_pylist())


def write_parquet(target: LakeTarget, table: pa.Table) -> None:
    with target.writing() as path:
        pq.write_table(table, path, compression="zstd")


def write_jsonl(target: LakeTarget, rows: list[dict], extra: dict) -> None:
    with target.writing() as path, open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps({**extra, **row}, ensure_ascii=False, default=str) + "\n")


class Stage(EntityTask):
    """Raw JSON -> typed Parquet + quarantine, for one entity and ds."""

    def requires(self):
        lookups = {lk.entity for lk in self.entity_decl.lookups}
        return {
            "raw": Extract(date=self.date, pipeline=self.pipeline, entity=self.entity),
            **{name: Stage(date=self.date, pipeline=self.pipeline, entity=name) for name in lookups},
        }

    def output(self):
        return {
            "data": staged_target(self.pipeline, self.entity, self.date),
            "quarantine": quarantine_target(self.pipeline, self.entity, self.date),
        }

    def run(self):
        extra = {"pipeline": self.pipeline, "entity": self.entity, "ds": str(self.date)}
        if self.entity_decl.stager is not None:
            with self.input()["raw"].local_path() as raw, self.output()["data"].writing() as out:
                rows, rejects = self.entity_decl.stager(self.entity_decl, raw, out, self.date)
                write_jsonl(self.output()["quarantine"], rejects, extra)
            self.report(f"{rows} rows staged, {len(rejects)} quarantined", 100,
                        out=rows, quarantined=len(rejects))
            return
        envelope = json.loads(self.input()["raw"].read_bytes())
        refs = {
            lk.entity: read_column(self.input()[lk.entity]["data"], lk.key) for lk in self.entity_decl.lookups
        }
        table, rejects = stage_records(self.entity_decl, envelope["records"], refs)
        write_jsonl(self.output()["quarantine"], rejects, extra)
        write_parquet(self.output()["data"], table)
        self.report(f"{len(envelope['records'])} records -> {table.num_rows} rows staged, {len(rejects)} quarantined", 100,
                    **{"in": len(envelope["records"]), "out": table.num_rows, "quarantined": len(rejects)})
