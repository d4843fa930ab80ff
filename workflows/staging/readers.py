"""Readers: a raw file (JSON envelope, JSON Lines, CSV) -> ``RawBatch``es of ``Values`` with line numbers.

Streamed with bounded memory (blocks of ``BLOCK_BYTES``; a record may be up to
``max_record_bytes``). A record the reader cannot read is quarantined on its own (rules ``json``,
``csv``, ``encoding``, ``oversize``) and never takes its neighbours with it:

- JSON Lines: one record per non-blank line; orjson decodes, Python's json (strict: NaN,
  repeated fields) decides every line orjson refuses or that may hide a repeated field. A BOM
  at the start of the file is skipped.
- CSV: the header is line 1 (a BOM skipped; a repeated or missing column fails the file with one
  line). pyarrow parses blocks of whole records; quoted newlines are kept. A record that spans
  lines but has the wrong number of fields (an unterminated quote) is quarantined as its first
  line alone, and reading resumes on the next line. Invalid UTF-8 quarantines its record only.
- JSON envelope ``{meta, records: [...]}``: the record's position is its ``line``.
"""
from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Callable, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from workflows import jsontext
from workflows.staging import jsonl
from workflows.staging.contract import Contract
from workflows.staging.rejects import RejectWriter
from workflows.staging.values import ABSENT, FLOAT, Values, from_python, from_text

BLOCK_BYTES = 8 << 20
csv.field_size_limit(2**31 - 1)  # Python's csv (header, slow path) must read fields of any size we accept
BATCH_RECORDS = 65_536
_NL, _QUOTE = 10, 34


class SourceFileError(ValueError):
    """The file as a whole cannot be staged (e.g. a CSV header with a repeated column)."""


@dataclass
class RawBatch:
    """Records of one block: their fields as ``Values``, start line and line span per record."""

    values: dict[tuple[str, ...], Values]
    root_object: np.ndarray
    line: np.ndarray
    span: np.ndarray
    record: Callable[[int], Any]               # the record as read (for wording and quarantine)
    elements: dict[tuple[str, ...], Values] | None = None
    element_object: np.ndarray | None = None
    parents: np.ndarray | None = None
    item: Callable[[int], Any] | None = None   # the exploded item as read

    def __len__(self) -> int:
        return len(self.line)


@dataclass
class ReadStats:
    """What the reader saw: records read (incl. unreadable ones) and the raw field names."""

    records: int = 0
    fields: set[str] = field(default_factory=set)


def _dig(record: Any, path: tuple[str, ...]) -> Any:
    value = record
    for part in path:
        if type(value) is not dict and not isinstance(value, dict):
            return ABSENT
        value = value.get(part, ABSENT)
        if value is ABSENT:
            return ABSENT
    return value


_EMPTY: dict = {}


def _extract(records: list, paths: tuple[tuple[str, ...], ...]) -> dict[tuple[str, ...], Values]:
    out = {}
    objects = [r if type(r) is dict else _EMPTY for r in records]  # a non-object has no fields
    for path in paths:
        if len(path) == 1:
            key = path[0]
            out[path] = from_python([r.get(key) for r in objects],
                                    lambda rows, key=key: np.fromiter((key not in objects[i] for i in rows), bool,
                                                                      len(rows)))
        else:
            out[path] = from_python([_dig(r, path) for r in objects])
    return out


def python_batch(records: list, lines: np.ndarray, spans: np.ndarray, contract: Contract) -> RawBatch:
    """A batch of parsed JSON records (dicts or anything else: non-objects fail ``type``)."""
    root_object = np.fromiter((isinstance(r, dict) for r in records), dtype=bool, count=len(records))
    batch = RawBatch(_extract(records, contract.record_paths), root_object, lines, spans, records.__getitem__)
    if contract.explode is not None:
        items, parents = [], []
        for i, r in enumerate(records):
            value = r.get(contract.explode) if isinstance(r, dict) else None
            if isinstance(value, list):
                items.extend(value)
                parents.extend([i] * len(value))
        batch.elements = _extract(items, contract.element_paths)
        batch.element_object = np.fromiter((isinstance(x, dict) for x in items), dtype=bool, count=len(items))
        batch.parents = np.asarray(parents, dtype=np.int64)
        batch.item = items.__getitem__
    return batch


def strict(line: bytes) -> tuple[Any, str | None, str | None]:
    """(value, rule, reason) of one JSON text by the strict parser; rule is None when it is JSON."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, "encoding", f"not UTF-8: {exc.reason} at byte {exc.start + 1}"
    try:
        value = jsontext.loads(text)
    except json.JSONDecodeError as exc:
        return None, "json", f"not JSON: {exc.msg} (column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return None, "json", f"not JSON: {exc}"
    problem = jsontext.defect(value)
    if problem:
        return None, "json", f"not JSON: {problem}"
    return value, None, None


# ── JSON Lines ─────────────────────────────────────────────────────────────────

def _blocks(f, max_record_bytes: int, writer: RejectWriter, stats: ReadStats,
            parity: bool = False, bom: bool = True) -> Iterator[tuple[bytes, int, tuple | None]]:
    """(block of whole lines, line number of its first line, its scan). A line longer than
    ``max_record_bytes`` is skipped while streaming and quarantined (``oversize``). With
    ``parity`` a block ends only where the count of quote characters is even (CSV records), and
    the scan that found it is handed on: (newline offsets, those outside quotes) of the block."""
    buf, line, first = b"", 1, True
    skipping = None  # (line, bytes so far, head) of an oversize line being skipped
    while True:
        data = f.read(BLOCK_BYTES)
        if first:
            first = False
            if bom and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
        if skipping is not None:
            end = data.find(b"\n")
            if end < 0 and data:
                skipping = (skipping[0], skipping[1] + len(data), skipping[2])
                continue
            size = skipping[1] + (end if end >= 0 else 0)
            stats.records += 1
            _oversize(writer, stats, skipping[0], size, skipping[2], max_record_bytes)
            line = skipping[0] + 1
            skipping = None
            data = data[end + 1:] if end >= 0 else b""
        buf += data
        eof = not data
        if eof:
            if buf:
                yield buf, line, None
            return
        cut, scan = _cut(buf, parity, max_record_bytes)
        if cut is None:
            if len(buf) > max_record_bytes:  # one line beyond the limit: skip it to its end
                skipping = (line, len(buf), buf[:200])
                buf = b""
            continue
        block, buf = buf[:cut], buf[cut:]
        if scan is not None:
            newlines, boundary = scan
            scan = (newlines[:np.searchsorted(newlines, cut)], boundary[:np.searchsorted(boundary, cut)])
        yield block, line, scan
        line += len(scan[0]) if scan is not None else block.count(b"\n")


def _quotes_before(arr: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """How many quote characters come before each of ``positions`` (one scan, then a binary search)."""
    return np.searchsorted(np.flatnonzero(arr == _QUOTE), positions)


def _cut(buf: bytes, parity: bool, max_record_bytes: int) -> tuple[int | None, tuple | None]:
    """Where to end a block: after its last newline (CSV: the last one outside quotes), and for
    CSV the (newlines, newlines outside quotes) of ``buf`` when the cut is after one of the latter."""
    last = buf.rfind(b"\n")
    if last < 0:
        return None, None
    if not parity:
        return last + 1, None
    arr = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NL)
    even = newlines[(_quotes_before(arr, newlines) % 2) == 0]
    if len(even):
        return int(even[-1]) + 1, (newlines, even)
    if len(buf) > max_record_bytes:  # an open quote for longer than any record: cut anyway
        return last + 1, None
    return None, None


def _oversize(writer: RejectWriter, stats: ReadStats, line: int, size: int, head: bytes, limit: int) -> None:
    writer.add("oversize", f"a record of {size:,} bytes, more than [staging] max_record_bytes = {limit:,}",
               line, head, raw_text=True)


def read_jsonl(path: str, contract: Contract, writer: RejectWriter, stats: ReadStats,
               max_record_bytes: int) -> Iterator[RawBatch]:
    """JSON Lines -> batches; unreadable lines quarantined (``json`` / ``encoding``).

    Flat contracts take the vectorised path (``jsonl.read_block``: pyarrow where the byte scan
    shows it is exact, every other line by ``exact_lines``); others read every line exactly."""
    vectorised = jsonl.supported(contract)
    with open(path, "rb") as f:
        if vectorised:
            # Each block is scanned and parsed on a second thread while the engine checks the previous
            # one's batches (numpy and pyarrow release the GIL); rejects are replayed here, in block order.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jsonl-parse") as pool:
                pending = None
                for block, first_line, _ in _blocks(f, max_record_bytes, writer, stats):
                    future = pool.submit(_jsonl_block, block, first_line, contract, max_record_bytes)
                    if pending is not None:
                        yield from _replay(pending.result(), writer, stats)
                    pending = future
                if pending is not None:
                    yield from _replay(pending.result(), writer, stats)
            return
        for block, first_line, _ in _blocks(f, max_record_bytes, writer, stats):
            lines = block.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            numbers, texts = [], []
            for offset, text in enumerate(lines):
                if text and not text.isspace():
                    numbers.append(first_line + offset)
                    texts.append(text)
            records, nums, text_of = exact_lines(numbers, texts, contract, writer, stats, max_record_bytes)
            for start in range(0, len(records), BATCH_RECORDS):
                chunk = records[start:start + BATCH_RECORDS]
                batch = python_batch(chunk, np.asarray(nums[start:start + BATCH_RECORDS], dtype=np.int64),
                                     np.ones(len(chunk), np.int32), contract)
                yield _exact_numbers(batch, chunk, text_of, contract)


def _jsonl_block(block: bytes, first_line: int, contract: Contract, max_record_bytes: int):
    """One block by the vectorised path: (batches, the rejects to write, its counts)."""
    recorder, stats = _Recorder(), ReadStats()

    def exact(numbers: list[int], texts: list[bytes]):
        records, nums, text_of = exact_lines(numbers, texts, contract, recorder, stats, max_record_bytes)
        batch = python_batch(records, np.asarray(nums, dtype=np.int64), np.ones(len(records), np.int32), contract)
        batch = _exact_numbers(batch, records, text_of, contract)
        return records, nums, batch.values

    batches = [RawBatch(values, root_object, lines.astype(np.int64), np.ones(len(lines), np.int32), record)
               for values, root_object, lines, record in jsonl.read_block(
                   block, first_line, contract, stats, max_record_bytes, exact, strict, BATCH_RECORDS)]
    return batches, recorder.calls, stats


def exact_lines(numbers: list[int], texts: list[bytes], contract: Contract, writer: RejectWriter, stats: ReadStats,
                max_record_bytes: int) -> tuple[list, list[int], dict[int, bytes]]:
    """Non-blank lines read one by one, exactly: (records, their line numbers, line -> text).
    orjson decodes; the strict parser decides every line orjson refuses or that may hide a repeated
    field; unreadable lines are quarantined here (``json``, ``encoding``, ``oversize``)."""
    records, kept, kept_texts, checked = [], [], [], []
    unsure = any(b"\\u0022" in t for t in texts)  # an escaped quote defeats the repeated-field count below
    loads = orjson.loads
    for number, text in zip(numbers, texts):
        if len(text) > max_record_bytes:
            stats.records += 1
            _oversize(writer, stats, number, len(text), text[:200], max_record_bytes)
            continue
        try:
            if unsure and b"\\u0022" in text:
                raise ValueError
            records.append(loads(text))
        except (orjson.JSONDecodeError, ValueError):
            value, rule, reason = strict(text)
            if rule is not None:
                stats.records += 1
                writer.add(rule, reason, number, text, raw_text=True)
                continue
            checked.append(len(records))
            records.append(value)
        kept.append(number)
        kept_texts.append(text)
    stats.records += len(records)
    rejected = _recheck(records, kept_texts, checked)
    for i in sorted(rejected):
        writer.add("json", rejected[i], kept[i], kept_texts[i], raw_text=True)
    if rejected:
        keep = [i for i in range(len(records)) if i not in rejected]
        records, kept, kept_texts = [records[i] for i in keep], [kept[i] for i in keep], [kept_texts[i] for i in keep]
    stats.fields.update(*(r for r in records if type(r) is dict))
    return records, kept, dict(zip(kept, kept_texts))


def _exact_numbers(batch: RawBatch, records: list, text_of: dict[int, bytes], contract: Contract) -> RawBatch:
    """Rows with a number orjson read as a float beyond 2**53 parsed again by Python's json."""
    suspects = _suspect_rows(batch)
    if not len(suspects):
        return batch
    for row in suspects:
        records[row] = strict(text_of[int(batch.line[row])])[0]
    return python_batch(records, batch.line, batch.span, contract)


_BIG = float(2**53)


def _suspect_rows(batch: "RawBatch") -> np.ndarray:
    """Rows with a number of 2**53 or more read as a float: orjson reads integer literals beyond
    64 bits as floats, so such rows are parsed again by Python's json for their exact value."""
    rows = np.zeros(len(batch), dtype=bool)
    for v in batch.values.values():
        floats = np.asarray(pc.fill_null(pc.greater_equal(pc.abs(v.floats), _BIG), False))
        rows |= floats & (v.kind == FLOAT)
    return np.flatnonzero(rows)


def _recheck(records: list, texts: list[bytes], checked: list[int]) -> dict[int, str]:
    """orjson resolves a repeated field last-wins. A repeated field leaves more quote characters
    in the line than in its re-encoding, so one count over the block finds whether any line needs
    the strict parser; such lines are parsed again by it, in place. Returns {index: reason} of
    the lines it finds not to be JSON. (``checked``: lines the strict parser already read.)"""
    skip = set(checked)
    fast = [i for i in range(len(records)) if i not in skip] if skip else range(len(records))
    raw_quotes = sum(map(bytes.count, (texts[i] for i in fast), repeat(b'"')))
    encoded = orjson.dumps([records[i] for i in fast] if skip else records).count(b'"')
    if raw_quotes == encoded:
        return {}
    rejected = {}
    for i in fast:
        if texts[i].count(b'"') == orjson.dumps(records[i]).count(b'"'):
            continue
        value, rule, reason = strict(texts[i])
        if rule is not None:
            rejected[i] = reason
        else:
            records[i] = value
    return rejected


# ── JSON envelope ──────────────────────────────────────────────────────────────

def read_envelope(path: str, contract: Contract, writer: RejectWriter, stats: ReadStats) -> Iterator[RawBatch]:
    """The landed envelope's records -> one batch; a record with a JSON defect quarantined alone."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        envelope = jsontext.loads(data)
    except (ValueError, RecursionError) as exc:  # includes UnicodeDecodeError
        raise SourceFileError(f"{path}: not a JSON envelope ({str(exc).splitlines()[0]})") from None
    records = envelope.get("records") if isinstance(envelope, dict) else None
    if not isinstance(records, list):
        raise SourceFileError(f"{path}: not a JSON envelope with a 'records' list")
    kept, numbers = [], []
    for position, record in enumerate(records, 1):
        stats.records += 1
        problem = jsontext.defect(record)
        if problem:
            writer.add("json", f"not JSON: {problem}", position, jsontext.dumps(record), raw_text=True,
                       units=_units(record, contract.explode))
            continue
        if isinstance(record, dict):
            stats.fields.update(record)
        kept.append(record)
        numbers.append(position)
    if kept:
        yield python_batch(kept, np.asarray(numbers, dtype=np.int64), np.ones(len(kept), np.int32), contract)


def _units(record: Any, explode: str | None) -> int:
    if explode and isinstance(record, dict) and isinstance(record.get(explode), list):
        return len(record[explode])
    return 1


# ── CSV ────────────────────────────────────────────────────────────────────────

def read_header(f, path: str) -> list[str]:
    """The header record (line 1, a BOM skipped); a repeated column fails the file."""
    first = f.readline()
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        header = next(csv.reader([first.decode("utf-8").rstrip("\r\n")]), [])
    except UnicodeDecodeError as exc:
        raise SourceFileError(f"{path}: the CSV header is not UTF-8 ({exc.reason} at byte {exc.start + 1})") from None
    header = [h.strip() for h in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise SourceFileError(f"{path}: the CSV header repeats column(s) {', '.join(repeated)}")
    return header


def _record_starts(block: bytes, scan: tuple | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start offset, end offset, start line index) of every non-blank record in ``block``,
    splitting at newlines outside quotes (RFC 4180); the end excludes the record's newline.
    ``scan``: the block's (newlines, newlines outside quotes) when ``_blocks`` found them already."""
    arr = np.frombuffer(block, dtype=np.uint8)
    if scan is not None:
        newlines, boundary = scan
    else:
        newlines = np.flatnonzero(arr == _NL)
        boundary = newlines[(_quotes_before(arr, newlines) % 2) == 0]
    starts = np.concatenate(([0], boundary + 1)).astype(np.int64)
    ends = np.concatenate((boundary, [len(block)])).astype(np.int64)
    length = ends - starts
    first_byte = arr[np.minimum(starts, max(len(arr) - 1, 0))] if len(arr) else np.zeros(len(starts), np.uint8)
    blank = (length == 0) | ((length == 1) & (first_byte == 13))
    keep = ~blank
    line_index = np.searchsorted(newlines, starts[keep])  # newlines before each start
    return starts[keep], ends[keep], line_index


def read_csv(path: str, contract: Contract, writer: RejectWriter, stats: ReadStats,
             max_record_bytes: int) -> Iterator[RawBatch]:
    """A CSV file -> batches of text fields read as the contract's JSON types."""
    nested = [p for p in contract.record_paths if len(p) > 1]
    if nested or contract.explode:
        raise SourceFileError(f"{contract.name}: a CSV record is flat (nested properties or explode given)")
    with open(path, "rb") as f:
        header = read_header(f, path)
        if not header:
            return  # a 0-byte file: no records, like a header-only one
        stats.fields.update(header)
        required = [r.path[0] for r in contract.rules if r.required and r.path[0] not in header]
        if required:
            raise SourceFileError(f"{path}: the CSV header lacks required column(s) {', '.join(required)}; "
                                  f"it has {', '.join(header)}")
        # Each block is parsed on a second thread while the engine checks the previous one's batches
        # (pyarrow's parser and kernels release the GIL); rejects are replayed here, in block order.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-parse") as pool:
            pending = None
            for block, first_line, scan in _blocks(f, max_record_bytes, writer, stats, parity=True, bom=False):
                future = pool.submit(_parsed_block, block, first_line + 1, header, contract, scan)
                if pending is not None:
                    yield from _replay(pending.result(), writer, stats)
                pending = future
            if pending is not None:
                yield from _replay(pending.result(), writer, stats)


class _Recorder:
    """Stands in for the RejectWriter on the parsing thread: keeps the rejects to write later."""

    def __init__(self):
        self.calls: list[tuple[tuple, dict]] = []

    def add(self, *args, **kwargs) -> None:
        self.calls.append((args, kwargs))


def _parsed_block(block: bytes, first_line: int, header: list[str], contract: Contract, scan: tuple | None = None):
    recorder, stats = _Recorder(), ReadStats()
    batches = list(_csv_block(block, first_line, header, contract, recorder, stats, scan))
    return batches, recorder.calls, stats


def _replay(result, writer: RejectWriter, stats: ReadStats) -> Iterator[RawBatch]:
    batches, calls, block_stats = result
    for args, kwargs in calls:
        writer.add(*args, **kwargs)
    stats.records += block_stats.records
    stats.fields.update(block_stats.fields)
    yield from batches


def _csv_block(block: bytes, first_line: int, header: list[str], contract: Contract, writer: RejectWriter,
               stats: ReadStats, scan: tuple | None = None) -> Iterator[RawBatch]:
    """Parse one block of whole records (``first_line``: the physical line of its first byte;
    ``scan``: its newlines as ``_blocks`` found them)."""
    work = [(block, first_line, scan)]
    while work:
        data, line0, scan = work.pop(0)
        bad: list[tuple[int, str]] = []

        def invalid(row) -> str:
            bad.append((row.number, row.text))
            return "skip"

        try:
            table = pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=header, use_threads=False,
                                               block_size=max(len(data) + 1, 1 << 16)),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
                convert_options=pacsv.ConvertOptions(column_types={h: pa.binary() for h in header},
                                                     strings_can_be_null=True, quoted_strings_can_be_null=False,
                                                     null_values=[""]),
            )  # bytes first: a record that is not UTF-8 is found below, alone
        except pa.ArrowInvalid:
            yield from _csv_slow(data, line0, header, contract, writer, stats)
            continue
        starts, ends, lines = _record_starts(data, scan)
        if len(starts) != table.num_rows + len(bad):  # pyarrow and the quote scan disagree: read it exactly
            yield from _csv_slow(data, line0, header, contract, writer, stats)
            continue
        record_line = line0 + lines
        bad_ordinals = np.asarray([number - 1 for number, _ in bad], dtype=np.int64)
        for number, text in bad:
            ordinal = number - 1
            start_line = int(record_line[ordinal])
            stats.records += 1
            pieces = text.split("\n")
            if len(pieces) > 1:  # an open quote ran over lines: quarantine its first line, read on
                writer.add("csv", f"expected {len(header)} fields; an unterminated quote runs over the next lines",
                           start_line, pieces[0], raw_text=True)
                rest = data[int(starts[ordinal]):int(ends[ordinal])].split(b"\n", 1)[1]
                work.append((rest, start_line + 1, None))
            else:
                found = len(next(csv.reader([text]), []))
                writer.add("csv", f"expected {len(header)} fields, found {found}", start_line, text, raw_text=True)
        good = np.ones(len(starts), dtype=bool)
        good[bad_ordinals] = False
        good_lines = record_line[good]
        if table.num_rows == 0:
            continue
        spans = _spans(data, starts, ends, scan[0] if scan is not None else None)[good]
        stats.records += table.num_rows
        table, not_utf8 = _as_text(table)
        for i in np.flatnonzero(not_utf8):
            record = data[int(starts[good][i]):int(ends[good][i])]
            writer.add("encoding", f"not UTF-8: {_utf8_problem(record)}", int(good_lines[i]), record, raw_text=True,
                       lines=int(spans[i]))
        if not_utf8.any():
            keep = ~not_utf8
            table, good_lines, spans = table.filter(pa.array(keep)), good_lines[keep], spans[keep]
        for offset in range(0, table.num_rows, BATCH_RECORDS):
            part = table.slice(offset, BATCH_RECORDS)
            yield _text_batch(part, good_lines[offset:offset + part.num_rows],
                              spans[offset:offset + part.num_rows], header, contract)


def _as_text(table: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """The binary columns as UTF-8 text, and the mask of rows with a field that is not UTF-8."""
    bad = np.zeros(table.num_rows, dtype=bool)
    columns = []
    for column in table.columns:
        column = column.combine_chunks()
        try:
            columns.append(pc.cast(column, pa.string()))
            continue
        except pa.ArrowInvalid:
            pass
        rows = _not_utf8(column, 0)
        bad[rows] = True
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[rows] = True
        columns.append(pc.cast(pc.if_else(pa.array(mask), pa.scalar(None, pa.binary()), column), pa.string()))
    return pa.table(columns, names=table.column_names), bad


def _not_utf8(column: pa.Array, offset: int) -> list[int]:
    """Positions of values that are not UTF-8, by bisection (a clean half is one vectorised check)."""
    try:
        pc.cast(column, pa.string())
        return []
    except pa.ArrowInvalid:
        if len(column) == 1:
            return [offset]
        mid = len(column) // 2
        return _not_utf8(column.slice(0, mid), offset) + _not_utf8(column.slice(mid), offset + mid)


def _utf8_problem(record: bytes) -> str:
    try:
        record.decode("utf-8")
        return "invalid bytes"
    except UnicodeDecodeError as exc:
        return f"{exc.reason} at byte {exc.start + 1} of the record"


def _spans(data: bytes, starts: np.ndarray, ends: np.ndarray, newlines: np.ndarray | None = None) -> np.ndarray:
    """Physical lines each record spans (a quoted newline adds one)."""
    if newlines is None:
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NL)
    return (1 + np.searchsorted(newlines, ends) - np.searchsorted(newlines, starts)).astype(np.int32)


def _text_batch(table: pa.Table, lines: np.ndarray, spans: np.ndarray, header: list[str],
                contract: Contract) -> RawBatch:
    n = table.num_rows
    values = {}
    for rule in contract.rules:
        name = rule.path[0]
        if name in header:
            values[rule.path] = from_text(table.column(name).combine_chunks(), rule.json_types)
        else:
            values[rule.path] = from_python([ABSENT] * n)

    def record(i: int) -> dict:
        return {h: table.column(h)[i].as_py() for h in header}

    return RawBatch(values, np.ones(n, dtype=bool), lines.astype(np.int64), spans, record)


def _csv_slow(data: bytes, line0: int, header: list[str], contract: Contract, writer: RejectWriter,
              stats: ReadStats) -> Iterator[RawBatch]:
    """The exact path for a block pyarrow cannot split as the quote scan does: Python's csv finds
    the records (joining physical lines while a quote is open), pyarrow then reads each record."""
    physical = data.decode("utf-8", "surrogateescape").split("\n")
    if physical and physical[-1] == "":
        physical.pop()
    records, lines, spans = [], [], []
    i = 0
    while i < len(physical):
        if not physical[i].strip("\r"):
            i += 1
            continue
        stats.records += 1
        used = _record_lines(physical, i, len(header))
        if used is None:
            found = len(next(csv.reader([physical[i]]), []))
            what = (f"expected {len(header)} fields, found {found}" if physical[i].count('"') % 2 == 0
                    else f"expected {len(header)} fields; an unterminated quote runs over the next lines")
            writer.add("csv", what, line0 + i, physical[i].encode("utf-8", "surrogateescape"), raw_text=True)
            i += 1
            continue
        text = "\n".join(physical[i:i + used])
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogateescape")
            writer.add("encoding", f"not UTF-8: {_utf8_problem(raw)}", line0 + i, raw, raw_text=True, lines=used)
            i += used
            continue
        records.append(text)
        lines.append(line0 + i)
        spans.append(used)
        i += used
    if not records:
        return
    table = _read_records("\n".join(records).encode("utf-8"), header)
    if table is None or table.num_rows != len(records):  # read them one at a time
        parts = [_read_records(text.encode("utf-8"), header) for text in records]
        table = pa.concat_tables(parts)
    yield _text_batch(table, np.asarray(lines, dtype=np.int64), np.asarray(spans, dtype=np.int32), header, contract)


def _read_records(data: bytes, header: list[str]) -> pa.Table | None:
    """Records known to be well-formed, read by pyarrow (its NULL vs '' and quoting), as text."""
    try:
        return pacsv.read_csv(pa.py_buffer(data),
                              read_options=pacsv.ReadOptions(column_names=header, use_threads=False,
                                                             block_size=max(len(data) + 1, 1 << 16)),
                              parse_options=pacsv.ParseOptions(newlines_in_values=True),
                              convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                                   strings_can_be_null=True, null_values=[""],
                                                                   quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        return None


def _record_lines(physical: list[str], i: int, width: int, max_lines: int = 10_000) -> int | None:
    """How many physical lines the record starting at line i spans, or None when no complete
    record of ``width`` fields starts there (then line i alone is the damaged record)."""
    for used in range(1, min(max_lines, len(physical) - i) + 1):
        chunk = "\n".join(physical[i:i + used])
        try:
            parsed = list(csv.reader(io.StringIO(chunk), strict=True))
        except csv.Error:
            continue  # a quote still open: try with the next line
        if len(parsed) == 1 and len(parsed[0]) == width:
            return used
        return None
    return None
