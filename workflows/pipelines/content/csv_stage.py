"""CSV stager: a landed CSV file -> typed Parquet, batch by batch; bad lines -> rejects with rule, reason, line.

pyarrow's streaming CSV reader does the parsing (quoting, CRLF, BOM); a line with the wrong
number of fields goes to its ``invalid_row_handler`` (rule ``csv``). Each declared column is read
as text and cast to its Arrow type (rule ``type`` for a value that does not cast). The entity's
JSON Schema, the contract of one CSV record, is evaluated on whole batches with pyarrow.compute
for the keywords in ``KEYWORDS``; jsonschema words the reason for the few rows that fail (rule
``schema``). Replace-mode entities (no ``merge_sql``: small snapshots) also need a key unique
within the file (rule ``duplicate_key``, the first line wins; their keys are held in memory).
``line`` is the record's 1-based line in the file (the header is line 1; blank lines are skipped
and not counted, a quoted value spanning lines counts once). Memory is bounded by ``BLOCK_BYTES``.
A file the reader cannot parse on (an unterminated quote) is a clear error, not a partial stage.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from workflows.declarations import Column, Entity, validator

LINE_COLUMN = "source_line"  # a declared column of this name (no source) receives each row's line
BLOCK_BYTES = 1 << 20  # the reader keeps ~16 blocks in flight: ~40 MB of Arrow memory
KEYWORDS = {"type", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern"}
ANNOTATIONS = {"format", "description", "title", "examples", "$comment"}


def json_kind(arrow_type: pa.DataType) -> str:
    """The JSON Schema type a column of ``arrow_type`` answers to."""
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    return "string"


def _bound(value: float, arrow_type: pa.DataType) -> pa.Scalar:
    """A JSON Schema bound as a scalar of the column's type (decimals from their exact text)."""
    if pa.types.is_decimal(arrow_type):
        return pa.scalar(Decimal(str(value)), arrow_type)
    return pa.scalar(value).cast(arrow_type)


@dataclass(frozen=True)
class FieldRule:
    """One CSV field's contract, compiled from its JSON Schema property."""

    field: str
    column: Column
    nullable: bool
    enum: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    def passes(self, raw: pa.Array, typed: pa.Array) -> pa.Array:
        """Boolean per row: does the value satisfy the property (null = the value is absent)?"""
        tests = [] if self.nullable else [pc.is_valid(typed)]
        if self.enum is not None:
            allowed = pc.fill_null(pc.is_in(typed, value_set=pa.array([v for v in self.enum if v is not None], typed.type)), False)
            tests.append(pc.or_(allowed, pc.is_null(typed)) if None in self.enum else allowed)
        for bound, compare in ((self.minimum, pc.greater_equal), (self.maximum, pc.less_equal)):
            if bound is not None:
                tests.append(pc.fill_null(compare(typed, _bound(bound, typed.type)), True))
        for bound, compare in ((self.min_length, pc.greater_equal), (self.max_length, pc.less_equal)):
            if bound is not None:
                tests.append(pc.fill_null(compare(pc.utf8_length(raw), bound), True))
        if self.pattern is not None:
            tests.append(pc.fill_null(pc.match_substring_regex(raw, self.pattern), True))
        return functools.reduce(pc.and_, tests) if tests else pa.array([True] * len(raw))


@dataclass(frozen=True)
class Contract:
    """The compiled contract of an entity's CSV records."""

    rules: tuple[FieldRule, ...]
    required: tuple[str, ...]
    schema: str

    def record(self, raw: dict, typed: dict) -> dict:
        """The row as jsonschema should see it: numbers typed (when they cast), everything else as read."""
        out = {}
        for rule in self.rules:
            value = typed[rule.column.name]
            if json_kind(rule.column.type) == "string" or value is None:
                value = raw[rule.field]
            out[rule.field] = float(value) if isinstance(value, Decimal) else value
        return out


@functools.lru_cache(maxsize=None)
def compile_contract(entity: Entity) -> Contract:
    """Compile the entity's JSON Schema into vectorised field rules; refuse keywords it cannot evaluate."""
    schema = validator(entity.schema).schema
    properties = schema.get("properties", {})
    rules = []
    for column in entity.columns:
        if column.source is None:
            if column.name != LINE_COLUMN:
                raise ValueError(f"{entity.name}.{column.name}: CSV columns need a source field (or be {LINE_COLUMN})")
            continue
        prop = properties.get(column.source)
        if prop is None:
            raise ValueError(f"{entity.schema}: no property {column.source!r} for column {entity.name}.{column.name}")
        unknown = set(prop) - KEYWORDS - ANNOTATIONS
        if unknown:
            raise ValueError(f"{entity.schema}: {column.source}: keywords {sorted(unknown)} are not evaluated by the CSV stager")
        types = prop.get("type", [])
        types = [types] if isinstance(types, str) else list(types)
        kind = json_kind(column.type)
        if kind not in types:
            raise ValueError(f"{entity.schema}: {column.source} is {types} but {entity.name}.{column.name} is {column.type}")
        misplaced = set(prop) & ({"minimum", "maximum"} if kind == "string" else {"minLength", "maxLength", "pattern"})
        if misplaced:  # jsonschema ignores them for this type: refuse rather than disagree with it
            raise ValueError(f"{entity.schema}: {column.source}: {sorted(misplaced)} do not apply to {kind} values")
        rules.append(FieldRule(
            field=column.source, column=column, nullable="null" in types,
            enum=tuple(prop["enum"]) if "enum" in prop else None,
            minimum=prop.get("minimum"), maximum=prop.get("maximum"),
            min_length=prop.get("minLength"), max_length=prop.get("maxLength"), pattern=prop.get("pattern"),
        ))
    return Contract(rules=tuple(rules), required=tuple(schema.get("required", ())), schema=entity.schema)


def cast_column(raw: pa.Array, to: pa.DataType) -> tuple[pa.Array, list[int]]:
    """``raw`` (text) cast to ``to``, and the positions whose value does not cast (they become null)."""
    if raw.type == to:
        return raw, []
    try:
        return pc.cast(raw, to), []
    except pa.ArrowInvalid:
        bad = _uncastable(raw, to, 0)
        keep = pc.invert(_positions(len(raw), bad))
        return pc.cast(pc.if_else(keep, raw, pa.scalar(None, raw.type)), to), bad


def _uncastable(raw: pa.Array, to: pa.DataType, offset: int) -> list[int]:
    """Positions that fail to cast, by bisection: a clean half costs one vectorised cast."""
    try:
        pc.cast(raw, to)
        return []
    except pa.ArrowInvalid:
        if len(raw) == 1:
            return [offset]
        mid = len(raw) // 2
        return _uncastable(raw.slice(0, mid), to, offset) + _uncastable(raw.slice(mid), to, offset + mid)


def _positions(n: int, positions: list[int]) -> pa.Array:
    """Boolean array of length n, true at ``positions``."""
    return pc.is_in(pa.array(range(n), pa.int64()), value_set=pa.array(positions, pa.int64()))


class Malformed:
    """The reader's invalid-row handler: every line with the wrong number of fields becomes a reject."""

    def __init__(self) -> None:
        self.lines: list[int] = []
        self.rejects: list[dict] = []

    def __call__(self, row) -> str:
        if row.number is None:  # only the serial reader knows line numbers
            raise RuntimeError("CSV reader lost track of line numbers (use_threads must be False)")
        self.lines.append(row.number)
        reason = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        self.rejects.append({"rule": "csv", "reason": reason, "line": row.number, "record": row.text})
        return "skip"


class LineNumbers:
    """Line numbers of the rows the reader yields: 2, 3, … minus the lines handed to ``Malformed``."""

    def __init__(self, skipped: list[int]) -> None:
        self.skipped, self.pos, self.next = skipped, 0, 2

    def take(self, n: int) -> pa.Array:
        start = end = self.next
        end += n
        skip = []
        while self.pos < len(self.skipped) and self.skipped[self.pos] < end:
            skip.append(self.skipped[self.pos])
            self.pos += 1
            end += 1
        self.next = end
        numbers = pa.array(range(start, end), pa.int32())
        if skip:
            numbers = numbers.filter(pc.invert(pc.is_in(numbers, value_set=pa.array(skip, pa.int32()))))
        return numbers


def read_header(path: str) -> list[str]:
    """The CSV header's field names (its first line)."""
    with open(path, "rb") as f:
        first = f.readline()
    try:
        return next(csv.reader([first.decode("utf-8-sig")]), [])
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: the CSV header is not UTF-8: {exc}") from None


def stage_batch(entity: Entity, contract: Contract, batch: pa.RecordBatch, lines: pa.Array) -> tuple[pa.Table, pa.Array, list[dict]]:
    """Cast and check one batch: (valid rows as the entity's Arrow table, their lines, rejects)."""
    typed: dict[str, pa.Array] = {}
    type_errors: dict[int, FieldRule] = {}
    checks = []
    for rule in contract.rules:
        raw = batch.column(rule.field)
        typed[rule.column.name], bad = cast_column(raw, rule.column.type)
        for position in bad:
            type_errors.setdefault(position, rule)
        checks.append(rule.passes(raw, typed[rule.column.name]))
    ok = functools.reduce(pc.and_, checks)
    if type_errors:
        ok = pc.and_(ok, pc.invert(_positions(batch.num_rows, sorted(type_errors))))
    columns = [lines if c.name == LINE_COLUMN else typed[c.name] for c in entity.columns]
    table = pa.Table.from_arrays(columns, schema=entity.arrow_schema())
    failed = pc.indices_nonzero(pc.invert(ok)).to_pylist()
    rejects = []
    if failed:
        raw_rows = batch.take(failed).to_pylist()
        typed_rows = table.take(failed).to_pylist()
        for position, raw_row, typed_row in zip(failed, raw_rows, typed_rows):
            rejects.append(_reject(contract, position, raw_row, typed_row, type_errors, lines[position].as_py()))
    return table.filter(ok), lines.filter(ok), rejects


def _reject(contract: Contract, position: int, raw: dict, typed: dict, type_errors: dict, line: int) -> dict:
    rule = type_errors.get(position)
    if rule is not None:
        reason = f"$.{rule.field}: {raw[rule.field]!r} is not a valid {rule.column.type}"
        return {"rule": "type", "reason": reason, "line": line, "record": raw}
    error = jsonschema.exceptions.best_match(validator(contract.schema).iter_errors(contract.record(raw, typed)))
    reason = f"{error.json_path}: {error.message}" if error is not None else "fails the contract"
    return {"rule": "schema", "reason": reason, "line": line, "record": raw}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _duplicates(entity: Entity, table: pa.Table, lines: pa.Array, first_line: dict) -> tuple[pa.Array, list[dict]]:
    """Rows whose key an earlier line already had (``first_line``: key -> line, updated)."""
    keys = zip(*(table.column(k).to_pylist() for k in entity.key))
    keep, rejects = [], []
    for key, line, row in zip(keys, lines.to_pylist(), table.to_pylist()):
        if key in first_line:
            reason = f"duplicate {', '.join(entity.key)} = {key if len(key) > 1 else key[0]} (first at line {first_line[key]})"
            record = {k: _jsonable(v) for k, v in row.items()}
            rejects.append({"rule": "duplicate_key", "reason": reason, "line": line, "record": record})
            keep.append(False)
        else:
            first_line[key] = line
            keep.append(True)
    return pa.array(keep, pa.bool_()), rejects


def _batches(reader: pacsv.CSVStreamingReader, path: str, numbering: LineNumbers):
    """The reader's batches; a parse error names the file and where reading stopped."""
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{path}: cannot parse the CSV after line {numbering.next - 1}: {exc}") from None


def stage_csv(entity: Entity, raw_path: str, parquet_path: str, ds: dt.date) -> tuple[int, list[dict]]:
    """The ``stager`` hook: raw CSV -> typed Parquet (streamed); returns (rows staged, rejects by line)."""
    contract = compile_contract(entity)
    header = read_header(raw_path)
    missing = [f for f in contract.required if f not in header]
    if missing:
        raise ValueError(f"{entity.name}: {raw_path} has no column(s) {missing}; header is {header}")
    fields = [rule.field for rule in contract.rules]
    malformed = Malformed()
    numbering = LineNumbers(malformed.lines)
    try:  # opening reads the first block already
        reader = pacsv.open_csv(
            raw_path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(invalid_row_handler=malformed),
            convert_options=pacsv.ConvertOptions(
                column_types={f: pa.string() for f in header}, include_columns=fields,
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,  # NULL = unquoted empty
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ValueError(f"{raw_path}: cannot parse the CSV after line 1: {exc}") from None
    first_line: dict[tuple, int] | None = {} if entity.merge_sql is None else None
    rows, rejects = 0, []
    with pq.ParquetWriter(parquet_path, entity.arrow_schema(), compression="zstd") as writer:
        for batch in _batches(reader, raw_path, numbering):
            table, lines, batch_rejects = stage_batch(entity, contract, batch, numbering.take(batch.num_rows))
            rejects.extend(batch_rejects)
            if first_line is not None:
                keep, duplicate_rejects = _duplicates(entity, table, lines, first_line)
                table = table.filter(keep)
                rejects.extend(duplicate_rejects)
            writer.write_table(table)
            rows += table.num_rows
    return rows, sorted(malformed.rejects + rejects, key=lambda r: r["line"])


def stage_csv_last_line_wins(entity: Entity, raw_path: str, parquet_path: str, ds: dt.date) -> tuple[int, list[dict]]:
    """``stage_csv``, then for a file that restates a business key: its last line wins and every
    earlier line of that key is quarantined (rule ``superseded``) instead of being collapsed
    silently later. The Parquet file is rewritten batch by batch without those lines."""
    rows, rejects = stage_csv(entity, raw_path, parquet_path, ds)
    keys = pq.read_table(parquet_path, columns=[*entity.key, LINE_COLUMN])
    last = keys.group_by(list(entity.key), use_threads=False).aggregate([(LINE_COLUMN, "max")])
    joined = keys.join(last, keys=list(entity.key), use_threads=False)
    earlier = joined.filter(pc.less(joined[LINE_COLUMN], joined[f"{LINE_COLUMN}_max"]))
    if earlier.num_rows == 0:
        return rows, rejects
    winner = dict(zip(earlier[LINE_COLUMN].to_pylist(), earlier[f"{LINE_COLUMN}_max"].to_pylist()))
    drop = pa.array(sorted(winner), pa.int32())
    kept_path = f"{parquet_path}.kept"
    with pq.ParquetWriter(kept_path, entity.arrow_schema(), compression="zstd") as writer:
        for batch in pq.ParquetFile(parquet_path).iter_batches():
            table = pa.Table.from_batches([batch])
            gone = pc.is_in(table[LINE_COLUMN], value_set=drop)
            for row in table.filter(gone).to_pylist():
                line = row[LINE_COLUMN]
                rejects.append({"rule": "superseded", "line": line,
                                "reason": f"superseded by line {winner[line]} of the same file "
                                          f"(the last line of a {', '.join(entity.key)} wins)",
                                "record": {k: _jsonable(v) for k, v in row.items()}})
            writer.write_table(table.filter(pc.invert(gone)))
    os.replace(kept_path, parquet_path)
    return rows - len(winner), sorted(rejects, key=lambda r: r["line"])
