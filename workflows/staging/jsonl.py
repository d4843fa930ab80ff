"""JSON Lines, vectorised: a block of whole lines -> one ``RawBatch`` per chunk, parsed by pyarrow where that is exact.

pyarrow's JSON reader is lenient where the strict rules are not (it reads ``NaN`` / ``-Infinity``,
invalid UTF-8 bytes, two objects on one line, a repeated field of an unknown or nested object,
and it can crash on a line that is not an object), and it fails a whole block on one type
conflict. So a cheap scan of the block's bytes (numpy, no per-line Python) decides per line:

- *vectorised* when the line is ``{…}`` (a ``\\r`` may end it), has no control byte, no
  ``\\uD8xx``-``\\uDFxx`` escape, is valid UTF-8 (the block as a whole, else its non-ASCII lines
  are exact), is not longer than the record limit, and every key of it is a contract field, each
  once, whose value starts a string, a number, ``true``/``false`` or ``null``. A key is a ``"``
  right before a ``:``; a ``:`` after whitespace sends the line to the exact path, so no key is
  missed (a ``"…":`` inside a string value always ends with ``\\"`` and never names a field);
- *exact* (``readers.exact_lines``: orjson, Python's strict json where it refuses or may hide a
  repeated field) for every other line.

Vectorised lines are grouped by the JSON kind of each field (text, number, boolean), so a
user id that is an integer here and text there is two groups, each read by pyarrow with an
explicit schema (numbers as float64; a field it does not name fails). A group pyarrow refuses,
or whose rows do not match its lines one to one (same fields present), is bisected down to
``SMALL`` lines, which go the exact path; so are numbers that are not finite or not exact in a
double (beyond 2**53). Values of both paths are merged back in line order.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pajson

from workflows.staging import values as V
from workflows.staging.contract import Contract

SMALL = 32          # a group (or half of a refused one) this small is read line by line
_NL, _CR, _QUOTE, _COLON, _BACKSLASH = 10, 13, 34, 58, 92
_SPACE, _TAB = 32, 9
_WS = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 32]] = True           # bytes.isspace(): a line of these only is blank
_KIND_OF_BYTE = np.zeros(256, dtype=np.int8)   # first byte of a value -> its kind (0: not handled)
_KIND_OF_BYTE[ord('"')] = V.STRING
_KIND_OF_BYTE[[ord(c) for c in "-0123456789"]] = V.FLOAT
_KIND_OF_BYTE[[ord("t"), ord("f")]] = V.BOOL
_KIND_OF_BYTE[ord("n")] = V.NULL
_ARROW = {V.STRING: pa.string(), V.FLOAT: pa.float64(), V.BOOL: pa.bool_(), V.NULL: pa.string()}
_EXACT = float(2**53)


def supported(contract: Contract) -> bool:
    """The vectorised path reads flat records (no nested property, nothing exploded)."""
    return contract.explode is None and all(len(p) == 1 for p in contract.record_paths)


class _Fields:
    """The contract's field names, and their keys as 8-byte words for matching in the raw text:
    ``"name"`` read backwards from the colon, word j covering bytes [colon - 8(j+1), colon - 8j)."""

    def __init__(self, contract: Contract):
        self.names = sorted({p[0] for p in contract.record_paths})
        self.paths = [(n,) for n in self.names]
        self.words = []
        for name in self.names:
            token = b'"' + name.encode("utf-8") + b'"'
            words = []
            for j in range(-(-len(token) // 8)):
                part = token[max(0, len(token) - 8 * (j + 1)):len(token) - 8 * j]
                words.append((8 * (8 - len(part)), int.from_bytes(part, "little")))
            self.words.append(words)
        self.depth = max((len(w) for w in self.words), default=0)


def _key_fields(block: bytes, keys: np.ndarray, fields: _Fields) -> np.ndarray:
    """Per key (position of the colon after its closing quote): the contract field it names, or
    -1. A key that only ends like a field name (an escaped quote inside it) is caught later:
    pyarrow refuses a field its schema does not name."""
    field = np.full(len(keys), -1, dtype=np.int64)
    if len(block) < 8 or not len(keys):
        return field
    view = np.ndarray(shape=(len(block) - 7,), dtype="<u8", buffer=block, strides=(1,))
    windows, inside = [], []
    for j in range(fields.depth):
        at = keys - 8 * (j + 1)
        inside.append(at >= 0)
        windows.append(view[np.maximum(at, 0)])
    for f, words in enumerate(fields.words):
        ok = inside[len(words) - 1].copy()
        for j, (shift, value) in enumerate(words):
            word = windows[j] >> np.uint64(shift) if shift else windows[j]
            ok &= word == np.uint64(value)
        field[ok & (field < 0)] = f
    return field


def _scan(arr: np.ndarray, block: bytes, starts: np.ndarray, ends: np.ndarray, fields: _Fields,
          max_record_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """(kinds [line, field] of the text, mask of lines that must take the exact path)."""
    n = len(starts)
    exact = np.zeros(n, dtype=bool)
    kinds = np.zeros((n, len(fields.names)), dtype=np.int8)
    if n == 0:
        return kinds, exact
    ends_cr = ends - ((ends > starts) & (arr[np.maximum(ends - 1, 0)] == _CR))
    nonempty = ends_cr > starts
    exact |= ~nonempty
    exact |= (ends - starts) > max_record_bytes
    safe_s, safe_e = np.where(nonempty, starts, 0), np.where(nonempty, ends_cr - 1, 0)
    exact |= (arr[safe_s] != ord("{")) | (arr[safe_e] != ord("}"))

    def line_of(positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(starts, positions, side="right") - 1

    control = np.flatnonzero(arr < 32)
    if len(control):
        control = control[arr[control] != _NL]
        allowed = (arr[control] == _CR) & (arr[np.minimum(control + 1, len(arr) - 1)] == _NL)
        exact[line_of(control[~allowed])] = True
    backslash = np.flatnonzero(arr == _BACKSLASH)
    if len(backslash):
        nxt = np.minimum(backslash + 2, len(arr) - 1)
        surrogate = (arr[np.minimum(backslash + 1, len(arr) - 1)] == ord("u")) & np.isin(arr[nxt], list(b"dD"))
        exact[line_of(backslash[surrogate])] = True
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        exact[line_of(np.flatnonzero(arr >= 0x80))] = True
    colons = np.flatnonzero(arr == _COLON)
    colons = colons[colons > 0]
    if len(colons) == 0:
        return kinds, exact
    before = arr[colons - 1]
    exact[line_of(colons[(before == _SPACE) | (before == _TAB) | (before == _CR)])] = True
    keys = colons[before == _QUOTE]
    field = _key_fields(block, keys, fields)
    key_line = line_of(keys)
    exact[key_line[field < 0]] = True                # a key the contract does not know
    known = field >= 0
    key_line, field, value_at = key_line[known], field[known], keys[known] + 1
    value_at = np.minimum(value_at, len(arr) - 1)
    value_at = np.minimum(value_at + (arr[value_at] == _SPACE), len(arr) - 1)
    kind = _KIND_OF_BYTE[arr[value_at]]
    exact[key_line[kind == 0]] = True                # an object, array, NaN, Infinity, …
    slot = key_line * len(fields.names) + field
    repeated = np.bincount(slot, minlength=n * len(fields.names)) > 1
    if repeated.any():
        exact[np.flatnonzero(repeated) // len(fields.names)] = True
    kinds.reshape(-1)[slot] = kind
    return kinds, exact


def _line_bounds(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    newlines = np.flatnonzero(arr == _NL)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(arr)]))
    if len(arr) and arr[-1] == _NL:
        starts, ends = starts[:-1], ends[:-1]
    return starts.astype(np.int64), ends.astype(np.int64)


def _blank(block: bytes, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines of whitespace only (or empty): a line starting with anything else is not blank."""
    blank = ends == starts
    maybe = np.flatnonzero(~blank)
    maybe = maybe[_WS[arr[starts[maybe]]]]
    for i in maybe.tolist():
        blank[i] = block[int(starts[i]):int(ends[i])].isspace()
    return blank


def _gather(block: bytes, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """The lines [starts, ends) of ``block``, one per line."""
    return b"\n".join(map(block.__getitem__, map(slice, starts.tolist(), ends.tolist()))) + b"\n"


def _parse(buf: bytes, schema: pa.Schema) -> pa.Table | None:
    try:
        return pajson.read_json(pa.py_buffer(buf),
                                read_options=pajson.ReadOptions(use_threads=False, block_size=len(buf) + 1),
                                parse_options=pajson.ParseOptions(explicit_schema=schema,
                                                                  unexpected_field_behavior="error"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None


def _read_group(block: bytes, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, kinds: np.ndarray,
                fields: _Fields, signature: tuple) -> tuple[list[tuple[np.ndarray, pa.Table]], list[int]]:
    """(rows read by pyarrow with their table, rows left for the exact path); refused groups bisected."""
    schema = pa.schema([(name, _ARROW.get(k, pa.string())) for name, k in zip(fields.names, signature)])
    done, left, work = [], [], [rows]
    while work:
        part = work.pop()
        if len(part) <= SMALL:
            left.extend(part.tolist())
            continue
        table = _parse(_gather(block, starts[part], ends[part]), schema)
        if table is None or table.num_rows != len(part) or not _aligned(table, kinds[part], fields):
            mid = len(part) // 2
            work.extend((part[mid:], part[:mid]))
            continue
        done.append((part, table))
    return done, left


def _aligned(table: pa.Table, kinds: np.ndarray, fields: _Fields) -> bool:
    """Each row has a value exactly where its line has a non-null value: rows are the lines, in order."""
    for f, name in enumerate(fields.names):
        valid = np.asarray(table.column(name).is_valid())
        if not np.array_equal(valid, (kinds[:, f] != V.MISSING) & (kinds[:, f] != V.NULL)):
            return False
    return True


def _group_values(table: pa.Table, kinds: np.ndarray, fields: _Fields) -> tuple[dict, np.ndarray]:
    """``Values`` per field of one pyarrow table; and the rows to read exactly (a number a double
    does not hold exactly, or one that is not finite)."""
    n = table.num_rows
    out, redo = {}, np.zeros(n, dtype=bool)
    for f, name in enumerate(fields.names):
        column = table.column(name).combine_chunks()
        kind = kinds[:, f].copy()
        ints, floats = pa.nulls(n, pa.int64()), pa.nulls(n, pa.float64())
        strings, bools = pa.nulls(n, pa.string()), pa.nulls(n, pa.bool_())
        if column.type == pa.float64() and column.null_count < n:
            x = column.to_numpy(zero_copy_only=False)
            present = kind == V.FLOAT
            with np.errstate(invalid="ignore"):
                small = np.abs(x) < _EXACT
                integral = small & (np.floor(x) == x)
            redo |= present & ~small                    # beyond 2**53, NaN, ±Infinity
            is_int = present & integral
            kind[is_int] = V.INT
            floats = column
            ints = pa.array(np.where(is_int, x, 0).astype(np.int64), pa.int64(), mask=~is_int)
        elif column.type == pa.string():
            strings = column
        elif column.type == pa.bool_():
            bools = column
        out[(name,)] = V.Values(kind, ints, floats, strings, bools)
    return out, redo


def merge(parts: list[tuple[np.ndarray, dict]], n: int, paths) -> dict:
    """Values per path of ``n`` rows from parts (destination rows, values per path)."""
    if len(parts) == 1 and len(parts[0][0]) == n and np.array_equal(parts[0][0], np.arange(n)):
        return parts[0][1]
    dest = np.concatenate([rows for rows, _ in parts])
    order = np.argsort(dest, kind="stable")      # position in the concatenation of each output row
    index = pa.array(order, pa.int64())
    where = np.empty(n, dtype=np.int64)
    where[order] = np.arange(n)                   # (unused rows cannot occur: dest is a permutation)
    offsets = np.cumsum([0] + [len(rows) for rows, _ in parts])
    out = {}
    for path in paths:
        vals = [p[1][path] for p in parts]
        exact, bad = {}, {}
        for off, v in zip(offsets, vals):
            exact.update({int(where[off + r]): x for r, x in v.exact.items()})
            bad.update({int(where[off + r]): x for r, x in v.unrepresentable.items()})
        def combined(arrays: list[pa.Array]) -> pa.Array:
            if all(a.null_count == len(a) for a in arrays):  # no value of this kind: nothing to move
                return pa.nulls(n, arrays[0].type)
            return pa.concat_arrays(arrays).take(index)

        out[path] = V.Values(
            kind=np.concatenate([v.kind for v in vals])[order],
            ints=combined([v.ints for v in vals]), floats=combined([v.floats for v in vals]),
            strings=combined([v.strings for v in vals]), bools=combined([v.bools for v in vals]),
            exact=exact, unrepresentable=bad,
        )
    return out


def read_block(block: bytes, first_line: int, contract: Contract, stats, max_record_bytes: int,
               exact_lines, strict, batch_records: int) -> Iterator[tuple[dict, np.ndarray, np.ndarray, Any]]:
    """(values per path, root_object, lines, record(i)) per chunk of ``batch_records`` lines of one block.

    ``exact_lines(numbers, texts)`` reads lines exactly: it quarantines the unreadable ones and
    returns (records, their line numbers, Values per path of them)."""
    fields = _Fields(contract)
    arr = np.frombuffer(block, dtype=np.uint8)
    starts, ends = _line_bounds(arr)
    solid = ~_blank(block, arr, starts, ends)
    starts, ends = starts[solid], ends[solid]
    numbers = first_line + np.flatnonzero(solid)
    kinds, exact = _scan(arr, block, starts, ends, fields, max_record_bytes)
    for lo in range(0, len(starts), batch_records):
        hi = min(lo + batch_records, len(starts))
        yield from _chunk(block, arr, starts[lo:hi], ends[lo:hi], numbers[lo:hi], kinds[lo:hi], exact[lo:hi],
                          fields, stats, exact_lines, strict)


def _chunk(block, arr, starts, ends, numbers, kinds, exact, fields: _Fields, stats, exact_lines, strict):
    n = len(starts)
    fast = np.flatnonzero(~exact)
    groups: dict[tuple, list] = {}
    parts: list[tuple[np.ndarray, dict]] = []
    slow = np.flatnonzero(exact).tolist()
    if len(fast):
        sig = kinds[fast].astype(np.int64)
        # a null or missing field takes any type: group by the kinds that constrain pyarrow
        sig[sig <= V.NULL] = 0
        code = sig @ (8 ** np.arange(sig.shape[1], dtype=np.int64))
        uniq, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        for g, at in enumerate(first.tolist()):
            rows = fast[inverse == g]
            done, left = _read_group(block, rows, starts, ends, kinds, fields, tuple(int(k) for k in sig[at]))
            slow.extend(left)
            for part, table in done:
                vals, redo = _group_values(table, kinds[part], fields)
                if redo.any():
                    slow.extend(part[redo].tolist())
                    keep = np.flatnonzero(~redo)
                    vals = {p: v.take(keep) for p, v in vals.items()}
                    part = part[keep]
                if len(part):
                    parts.append((part, vals))
                    present = (kinds[part] != V.MISSING).any(axis=0)
                    stats.fields.update(name for name, p in zip(fields.names, present) if p)
    stats.records += sum(len(p) for p, _ in parts)
    records: dict[int, Any] = {}
    if slow:
        slow = np.asarray(sorted(slow), dtype=np.int64)
        texts = [block[int(starts[i]):int(ends[i])] for i in slow]
        kept_records, kept_numbers, kept_values = exact_lines(numbers[slow].tolist(), texts)
        row_of = {int(numbers[i]): int(i) for i in slow}
        rows = np.asarray([row_of[m] for m in kept_numbers], dtype=np.int64)
        if len(rows):
            parts.append((rows, kept_values))
            records = dict(zip(rows.tolist(), kept_records))
    if not parts:
        return
    used = np.sort(np.concatenate([rows for rows, _ in parts]))
    remap = np.full(n, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    parts = [(remap[rows], vals) for rows, vals in parts]
    values = merge(parts, len(used), fields.paths)
    root_object = np.ones(len(used), dtype=bool)
    rec_at = {int(remap[r]): rec for r, rec in records.items()}
    if rec_at:
        root_object[list(rec_at)] = [type(rec) is dict or isinstance(rec, dict) for rec in rec_at.values()]
    line_starts, line_ends = starts[used], ends[used]

    def record(i: int) -> Any:
        if i in rec_at:
            return rec_at[i]
        text = block[int(line_starts[i]):int(line_ends[i])]
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return strict(text)[0]

    yield values, root_object, numbers[used], record
