"""Staged columns from contract-valid ``Values``: conversion to the column's Arrow type, what cannot be stored.

``convert(values, type, tz)`` turns one field's JSON values into the staged column (integers,
floats, decimals, booleans, text, dates, instants) and reports, per row, the values the
warehouse cannot hold (rule ``unrepresentable``: NUL, lone surrogates, beyond the type's range,
instants outside years 1-9999) or a string that is not a date/time (rule ``format``). Missing and
null values become the column's declared default (or null).
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workflows.staging import formats
from workflows.staging.values import BOOL, FLOAT, INT, MISSING, NULL, STRING, Values, from_text

Problems = dict[int, tuple[str, str]]  # row -> (rule, reason)
_INT_RANGES = {pa.int8(): 2**7, pa.int16(): 2**15, pa.int32(): 2**31, pa.int64(): 2**63}


def _where(mask: np.ndarray, array: pa.Array) -> pa.Array:
    """``array`` where mask, null elsewhere."""
    return pc.if_else(pa.array(mask), array, pa.scalar(None, array.type))


def _note(problems: Problems, rows, rule: str, reason) -> None:
    for row in rows:
        row = int(row)
        if row not in problems:
            problems[row] = (rule, reason(row) if callable(reason) else reason)


def _text(v: Values) -> pa.Array:
    """Every scalar as text: strings as they are, integers in decimal, integral floats as integers
    (a JSON Schema integer 123.0 is the id 123), other floats shortest round-trip, booleans true/false."""
    out = v.strings
    if (v.kind == INT).any():
        out = pc.if_else(pa.array(v.kind == INT), pc.cast(v.ints, pa.string()), out)
    if (v.kind == FLOAT).any():
        floats = v.floats
        integral = pc.fill_null(pc.and_(pc.is_finite(floats), pc.equal(pc.floor(floats), floats)), False)
        small = pc.fill_null(pc.less(pc.abs(floats), 2.0**63), False)
        as_int = pc.cast(pc.if_else(pc.and_(integral, small), floats, pa.scalar(None, pa.float64())), pa.int64())
        text = pc.if_else(pc.and_(integral, small), pc.cast(as_int, pa.string()), pc.cast(floats, pa.string()))
        out = pc.if_else(pa.array(v.kind == FLOAT), text, out)
    if (v.kind == BOOL).any():
        out = pc.if_else(pa.array(v.kind == BOOL), pc.if_else(v.bools, "true", "false"), out)
    big = {r: str(x) for r, x in v.exact.items() if v.kind[r] == INT}
    if big:  # integers beyond int64 are text all the same
        out = pa.array([big.get(i, x) for i, x in enumerate(out.to_pylist())], pa.string())
    return out


def convert(v: Values, to: pa.DataType, tz: str, default: Any = None) -> tuple[pa.Array, Problems]:
    """The staged column of type ``to`` and the rows that cannot be staged (with rule and reason)."""
    problems: Problems = {}
    for row, why in v.unrepresentable.items():
        problems[row] = ("unrepresentable", why)
    n = len(v)
    numeric_type = pa.types.is_integer(to) or pa.types.is_floating(to) or pa.types.is_decimal(to)
    if numeric_type and (v.kind == STRING).any():
        v = _numbers_in_text(v, problems)
    if pa.types.is_string(to) or pa.types.is_large_string(to):
        out = _text(v)
        if (v.kind == STRING).any():
            nul = np.asarray(pc.fill_null(pc.match_substring(v.strings, "\x00"), False))
            _note(problems, np.flatnonzero(nul), "unrepresentable", "text contains a NUL character")
    elif pa.types.is_integer(to):
        out, bad = _integers(v, to)
        _note(problems, bad, "unrepresentable", f"beyond the range of {to}")
    elif pa.types.is_floating(to):
        out = pc.cast(v.floats, to)
    elif pa.types.is_decimal(to):
        out, bad = _decimals(v, to)
        _note(problems, bad, "unrepresentable", f"does not fit {to} (precision or scale)")
    elif pa.types.is_boolean(to):
        out = v.bools
    elif pa.types.is_timestamp(to):
        out, fmt_bad, range_bad = _instants(v, to, tz)
        _note(problems, fmt_bad, "format", lambda r: f"{v.strings[r].as_py()!r} is not a valid "
                                                   f"{'date-time' if to.tz else 'local date-time'}")
        _note(problems, range_bad, "unrepresentable", "an instant outside the years 1-9999")
    elif pa.types.is_date32(to):
        ok = formats.valid(v.strings, "date")
        strings = v.kind == STRING
        _note(problems, np.flatnonzero(strings & ~ok), "format", lambda r: f"{v.strings[r].as_py()!r} is not a valid date")
        out = pc.cast(_where(strings & ok, v.strings), pa.date32())
    else:
        raise TypeError(f"staged columns of type {to} are not supported")
    empty = np.isin(v.kind, (MISSING, NULL))
    if default is not None and empty.any():
        out = pc.if_else(pa.array(empty), pa.scalar(default, to), out)
    if out.type != to:
        out = pc.cast(out, to)
    assert len(out) == n
    return out, problems


def _numbers_in_text(v: Values, problems: Problems) -> Values:
    """Strings holding numbers (``"-37.31"``) read as numbers for a numeric column; other strings
    are a ``format`` problem."""
    parsed = from_text(v.strings, frozenset({"integer", "number"}))
    strings = v.kind == STRING
    kind = v.kind.copy()
    kind[strings] = parsed.kind[strings]
    still = np.flatnonzero(strings & (parsed.kind == STRING))
    _note(problems, still, "format", lambda r: f"{v.strings[r].as_py()!r} is not a number")
    as_int, as_float = pa.array(strings & (parsed.kind == INT)), pa.array(strings & np.isin(parsed.kind, (INT, FLOAT)))
    texts = v.texts if v.texts is not None else None
    if v.texts is None and strings.any():
        texts = pc.if_else(pa.array(strings), v.strings, _text(v))
    return Values(kind, pc.if_else(as_int, parsed.ints, v.ints), pc.if_else(as_float, parsed.floats, v.floats),
                  v.strings, v.bools, {**v.exact, **{r: x for r, x in parsed.exact.items() if strings[r]}},
                  dict(v.unrepresentable), texts)


def _integers(v: Values, to: pa.DataType) -> tuple[pa.Array, list[int]]:
    limit = _INT_RANGES.get(to, 2**63)
    ints = v.ints
    bad = [r for r in v.exact if v.kind[r] == INT]
    is_float = v.kind == FLOAT
    if is_float.any():  # 1.0 is an integer by the contract
        floats = _where(is_float, v.floats)
        big = np.asarray(pc.fill_null(pc.greater_equal(pc.abs(floats), float(limit)), False))
        bad += list(np.flatnonzero(big))
        as_int = pc.cast(_where(is_float & ~big, v.floats), pa.int64())
        ints = pc.if_else(pa.array(is_float), as_int, ints)
    if limit < 2**63:
        over = np.asarray(pc.fill_null(pc.or_(pc.greater_equal(ints, limit), pc.less(ints, -limit)), False))
        bad += list(np.flatnonzero(over))
        ints = _where(~over, ints)
    return pc.cast(ints, to), bad


def _decimals(v: Values, to: pa.DataType) -> tuple[pa.Array, list[int]]:
    """Decimals from the exact text (CSV) or the shortest text of the JSON number."""
    numeric = np.isin(v.kind, (INT, FLOAT))
    text = v.texts if v.texts is not None else _text(v)
    text = _where(numeric, text)
    text = pc.utf8_ltrim(text, "+") if v.texts is not None else text
    bad = formats._uncastable(text, to)
    if bad:
        keep = np.ones(len(v), dtype=bool)
        keep[bad] = False
        text = _where(keep, text)
    for row, value in v.exact.items():
        if v.kind[row] == INT:
            bad.append(row)
    return pc.cast(text, to), bad


def _instants(v: Values, to: pa.DataType, tz: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Timestamps of strings: (column, rows not valid for the format, rows outside years 1-9999)."""
    strings = v.kind == STRING
    fmt = "date-time" if to.tz else "local-date-time"
    parsed = v.timestamps(fmt)  # computed once: the contract's format check parsed them already
    fmt_bad = np.flatnonzero(strings & ~parsed.valid)
    if to.tz:
        utc, out_of_range = formats.to_utc(parsed, tz)
        out = pc.cast(utc, to)
    else:
        out = pc.cast(parsed.local, to)
        out_of_range = np.zeros(len(v), dtype=bool)
    return out, fmt_bad, np.flatnonzero(out_of_range & strings & parsed.valid)



def row_hash(tag: str, names: tuple[str, ...]):
    """A ``derive`` for a row's identity: the first 128 bits of sha256 over a canonical encoding of
    ``names`` (as 32 hex digits, a PostgreSQL ``uuid``). The encoding is ``tag`` then, per column
    in order, ``-;`` for NULL or ``<byte length>:<text>;`` — integers in decimal, instants as
    microseconds since the epoch in UTC, text as UTF-8 — so column boundaries, NULL versus '',
    and the session's time zone can never change or collide a hash. Vectorised up to the digest."""
    def derive(cols: dict[str, pa.Array]) -> pa.Array:
        pieces = [pa.array([tag] * len(cols[names[0]]), pa.string())]
        for name in names:
            column = cols[name]
            if pa.types.is_timestamp(column.type):
                column = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC") if column.type.tz else
                                         pa.timestamp("us")), pa.int64())
            text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
            length = pc.cast(pc.binary_length(text), pa.string())
            pieces.append(pc.fill_null(pc.binary_join_element_wise(length, ":", text, ";", ""), "-;"))
        payload = pc.binary_join_element_wise(*pieces, "")
        sha256 = hashlib.sha256
        digests = b"".join([sha256(p).digest()[:16] for p in pc.cast(payload, pa.binary()).to_pylist()])
        n = len(payload)  # 32 hex digits per row, one string array over one buffer
        offsets = np.arange(0, 32 * (n + 1), 32, dtype=np.int32)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(digests.hex().encode()))

    return derive
