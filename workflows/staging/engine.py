"""The staging engine: one raw file -> typed Parquet + quarantine, the same road for every source.

Per batch of records from a reader: the contract's vectorised verdict (jsonschema words the
rejected ones), the staged columns (conversion, transforms, derived columns), then what the
warehouse cannot hold, the declared lookups, and the entity key's duplicates (first or last
wins, across the whole file). Every record ends staged or quarantined with its rule, reason and
line; the counts come back as ``StageStats``. Memory is one batch plus 12 bytes per staged row
for the duplicate check.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workflows.staging import readers
from workflows.staging.columns import Problems, convert
from workflows.staging.contract import CODE_RULES, Contract, record_of
from workflows.staging.rejects import RejectWriter

log = logging.getLogger("luigi-interface")
LINE = "$line"  # a column source: the record's line in the raw file


@dataclass(frozen=True)
class StagedColumn:
    """One staged column (declared as ``workflows.declarations.Column``). ``source`` is a dotted
    path in the raw record (``item.`` = the exploded element; ``$line`` = the record's line),
    ``default`` fills a missing or null value, ``transform`` maps the converted source array
    (vectorised; may return ``(array, {row: reason})`` for values it cannot read), ``derive``
    computes it from the other staged columns."""

    name: str
    type: pa.DataType
    source: str | None = None
    default: Any = None
    transform: Callable[[pa.Array], Any] | None = None
    derive: Callable[[dict[str, pa.Array]], pa.Array] | None = None


@dataclass(frozen=True)
class Lookup:
    column: str
    entity: str
    key: str


@dataclass(frozen=True)
class StageSpec:
    """Everything the engine needs about one entity."""

    name: str
    format: str                   # "json" (envelope), "jsonl", "csv"
    contract: Contract
    columns: tuple[StagedColumn, ...]
    key: tuple[str, ...] = ()
    duplicates: str | None = None  # "first" | "last" | None (keep all)
    lookups: tuple[Lookup, ...] = ()
    protect: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    timezone: str = "UTC"
    max_record_bytes: int = 16 << 20

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.type) for c in self.columns])


@dataclass
class StageStats:
    """What one staging run did: records read, rows staged, rejects (records, units, lines), by rule."""

    records: int = 0
    staged: int = 0
    staged_lines: int = 0
    quarantined: int = 0
    quarantined_units: int = 0
    quarantined_lines: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _reader(spec: StageSpec, path: str, writer: RejectWriter, stats: readers.ReadStats) -> Iterator[readers.RawBatch]:
    if spec.format == "jsonl":
        return readers.read_jsonl(path, spec.contract, writer, stats, spec.max_record_bytes)
    if spec.format == "csv":
        return readers.read_csv(path, spec.contract, writer, stats, spec.max_record_bytes)
    if spec.format == "json":
        return readers.read_envelope(path, spec.contract, writer, stats)
    raise ValueError(f"{spec.name}: unknown raw format {spec.format!r}")


class _Keys:
    """Hashes (and lines) of the staged rows' keys, to find repeats across the whole file."""

    def __init__(self, key: tuple[str, ...]):
        self.key = key
        self.hashes: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []
        self.spans: list[np.ndarray] = []

    def add(self, table: pa.Table, lines: np.ndarray, spans: np.ndarray) -> None:
        columns = [table.column(k) for k in self.key]
        if len(columns) == 1 and pa.types.is_integer(columns[0].type):
            hashes = np.asarray(pc.fill_null(pc.cast(columns[0], pa.int64()), -(2**63)).to_numpy(), dtype=np.int64)
        else:
            values = [c.to_pylist() for c in columns]
            hashes = np.fromiter(map(hash, zip(*values)), dtype=np.int64, count=table.num_rows)
        self.hashes.append(hashes)
        self.lines.append(lines.astype(np.int32))
        self.spans.append(spans.astype(np.int16))

    def candidates(self) -> np.ndarray:
        """Row positions whose key hash repeats (a superset of the repeated keys)."""
        if not self.hashes:
            return np.array([], dtype=np.int64)
        hashes = np.concatenate(self.hashes)
        self.hashes = [hashes]
        order = np.argsort(hashes, kind="stable")
        sorted_ = hashes[order]
        same = sorted_[1:] == sorted_[:-1]
        if not same.any():
            return np.array([], dtype=np.int64)
        marks = np.zeros(len(hashes), dtype=bool)
        marks[1:] |= same
        marks[:-1] |= same
        return np.sort(order[marks])


def _losers(spec: StageSpec, path: str, keys: _Keys) -> dict[int, int]:
    """Staged row position -> the winning row's line, for every row whose key repeats."""
    rows = keys.candidates()
    if len(rows) == 0:
        return {}
    lines = np.concatenate(keys.lines)
    groups: dict[tuple, list[int]] = {}
    offset = 0
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(columns=list(spec.key), batch_size=65_536):
        here = rows[(rows >= offset) & (rows < offset + batch.num_rows)]
        if len(here):
            cols = [batch.column(k).take(pa.array(here - offset)).to_pylist() for k in spec.key]
            for r, key in zip(here.tolist(), zip(*cols)):
                groups.setdefault(key, []).append(r)
        offset += batch.num_rows
    losers: dict[int, int] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        pick = min if spec.duplicates == "first" else max
        winner = pick(members, key=lambda r: (lines[r], r))
        for r in members:
            if r != winner:
                losers[r] = int(lines[winner])
    return losers


def _drop_losers(spec: StageSpec, path: str, losers: dict[int, int], writer: RejectWriter, line_of: np.ndarray,
                 span_of: np.ndarray) -> int:
    """Rewrite the Parquet file without the losing rows; quarantine them. Returns rows dropped."""
    rule = "duplicate_key" if spec.duplicates == "first" else "superseded"
    which = "first" if spec.duplicates == "first" else "last"
    keyname = ", ".join(spec.key)
    tmp = path + ".dedup"
    source = pq.ParquetFile(path, pre_buffer=False)  # batch by batch: memory stays one batch
    offset = 0
    lost = np.fromiter(sorted(losers), dtype=np.int64, count=len(losers))
    with pq.ParquetWriter(tmp, source.schema_arrow, compression="snappy") as out:
        for batch in source.iter_batches(batch_size=65_536):
            size = batch.num_rows
            here = lost[(lost >= offset) & (lost < offset + size)]
            if len(here):
                local = here - offset
                for r, row in zip(here.tolist(), batch.take(pa.array(local)).to_pylist()):
                    key = tuple(row[k] for k in spec.key)
                    shown = key[0] if len(key) == 1 else key
                    writer.add(rule, f"duplicate {keyname} = {shown!r}: line {losers[r]} wins (the {which} in the file)",
                               int(line_of[r]), row, lines=int(span_of[r]), winner_line=losers[r])
                keep = np.ones(size, dtype=bool)
                keep[local] = False
                batch = batch.filter(pa.array(keep))
            out.write_batch(batch)
            offset += size
    os.replace(tmp, path)
    return len(losers)


def stage(spec: StageSpec, raw_path: str, parquet_path: str, rejects_path: str, extra: dict,
          refs: dict[str, pa.Array] | None = None) -> StageStats:
    """Stage one raw file; returns its counts. ``refs``: valid keys per looked-up entity."""
    refs = refs or {}
    stats = StageStats()
    read = readers.ReadStats()
    keys = _Keys(spec.key) if spec.duplicates else None
    with RejectWriter(rejects_path, extra, spec.protect) as writer:
        with pq.ParquetWriter(parquet_path, spec.arrow_schema(), compression="snappy") as out:
            for batch in _reader(spec, raw_path, writer, read):
                table, lines, spans = _stage_batch(spec, batch, writer, refs)
                if table.num_rows:
                    out.write_table(table)
                    stats.staged += table.num_rows
                    stats.staged_lines += int(spans.sum())
                    if keys is not None:
                        keys.add(table, lines, spans)
        if keys is not None:
            losers = _losers(spec, parquet_path, keys)
            if losers:
                spans = np.concatenate(keys.spans)
                dropped = _drop_losers(spec, parquet_path, losers, writer, np.concatenate(keys.lines), spans)
                stats.staged -= dropped
                stats.staged_lines -= int(spans[list(losers)].sum())
    stats.records = read.records
    stats.quarantined = writer.count
    stats.quarantined_units = writer.units
    stats.quarantined_lines = writer.lines
    stats.rules = dict(sorted(writer.by_rule.items()))
    stats.fields = sorted(read.fields)
    return stats


def _stage_batch(spec: StageSpec, batch: readers.RawBatch, writer: RejectWriter,
                 refs: dict[str, pa.Array]) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """(staged rows, their lines, their spans) of one batch; every other record quarantined."""
    contract = spec.contract
    codes, item_codes = contract.evaluate(batch.values, batch.root_object, batch.elements, batch.element_object,
                                          batch.parents)
    exploded = contract.explode is not None
    units = np.ones(len(batch), dtype=np.int64)
    if exploded:
        units = np.bincount(batch.parents, minlength=len(batch)).astype(np.int64) if len(batch.parents) else np.zeros(len(batch), np.int64)
        units = np.maximum(units, 1)
    for row in np.flatnonzero(codes):
        _contract_reject(spec, batch, int(row), int(codes[row]), writer, int(units[row]))
    ok = codes == 0
    if exploded:
        rows = np.flatnonzero(ok[batch.parents]) if len(batch.parents) else np.array([], dtype=np.int64)
        parent_rows = batch.parents[rows]
    else:
        rows = np.flatnonzero(ok)
        parent_rows = rows
    lines = batch.line[parent_rows]
    spans = batch.span[parent_rows]
    columns, problems = _columns(spec, batch, rows, parent_rows)
    table = pa.table(columns, schema=spec.arrow_schema()) if columns else spec.arrow_schema().empty_table()
    for lk in spec.lookups:
        valid = refs.get(lk.entity)
        found = pc.is_in(table.column(lk.column), value_set=valid if valid is not None else pa.array([], table.column(lk.column).type))
        for r in np.flatnonzero(~np.asarray(pc.fill_null(found, False))):
            value = table.column(lk.column)[int(r)].as_py()
            problems.setdefault(int(r), ("lookup", f"{lk.column} = {value!r} not found in {lk.entity}.{lk.key} for this ds"))
    if problems:
        bad = np.zeros(len(rows), dtype=bool)
        for r, (rule, reason) in sorted(problems.items()):
            bad[r] = True
            record = _row_record(batch, int(rows[r]), int(parent_rows[r]), contract.explode)
            writer.add(rule, reason, int(lines[r]), record, lines=int(spans[r]))
        keep = pa.array(~bad)
        table = table.filter(keep)
        lines, spans = lines[~bad], spans[~bad]
    return table, lines, spans


def _row_record(batch: readers.RawBatch, row: int, parent: int, explode: str | None) -> Any:
    """The record of a staged row as read; for an exploded item: its record with that item only."""
    record = batch.record(parent)
    if explode is None or not isinstance(record, dict):
        return record
    return {**{k: v for k, v in record.items() if k != explode}, "item": batch.item(row)}


def _contract_reject(spec: StageSpec, batch: readers.RawBatch, row: int, code: int, writer: RejectWriter,
                     units: int) -> None:
    record = batch.record(row)
    judged = record if spec.format != "csv" else record_of(batch.values, row)
    explained = spec.contract.explain(judged)
    if explained is None:  # the vectorised verdict and jsonschema disagree: never pass it silently
        log.warning("%s line %s: the vectorised contract rejects (%s) what jsonschema accepts",
                    spec.name, batch.line[row], CODE_RULES.get(code))
        explained = (CODE_RULES.get(code, "type"), f"fails the contract ({CODE_RULES.get(code)})")
    rule, reason = explained
    writer.add(rule, reason, int(batch.line[row]), record, lines=int(batch.span[row]), units=units)


def _columns(spec: StageSpec, batch: readers.RawBatch, rows: np.ndarray,
             parent_rows: np.ndarray) -> tuple[dict[str, pa.Array], Problems]:
    """The staged columns of ``rows`` (elements when exploding), and their problems by position."""
    out: dict[str, pa.Array] = {}
    problems: Problems = {}
    for col in spec.columns:
        if col.derive is not None:
            continue
        if col.source == LINE:
            array = pa.array(batch.line[parent_rows], pa.int64())
        elif col.source is None:
            array = pa.nulls(len(rows), col.type)
        else:
            if col.source.startswith("item."):
                values = batch.elements[tuple(col.source[5:].split("."))].take(rows)
            else:
                values = batch.values[tuple(col.source.split("."))].take(parent_rows)
            array, found = convert(values, col.type if col.transform is None else _source_type(col), spec.timezone,
                                   col.default)
            for r, p in found.items():
                problems.setdefault(r, (p[0], f"$.{col.source}: {p[1]}"))
        if col.transform is not None:
            result = col.transform(array)
            array, found = result if isinstance(result, tuple) else (result, {})
            for r, reason in found.items():
                problems.setdefault(r, ("format", f"$.{col.source}: {reason}"))
        out[col.name] = array if array.type == col.type else pc.cast(array, col.type)
    for col in spec.columns:
        if col.derive is not None:
            out[col.name] = pc.cast(col.derive(out), col.type)
    return {c.name: out[c.name] for c in spec.columns}, problems


def _source_type(col: StagedColumn) -> pa.DataType:
    """A transformed column reads its source as text unless it is a number or time column."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_timestamp(col.type):
        return col.type
    return pa.string()
