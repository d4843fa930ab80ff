"""JSON values of one field across a batch of records, as Arrow arrays: a kind per row plus the value by kind.

A raw record's field may hold any JSON type (a price of ``"N/A"``, a user id that is an
integer in one line and text in the next), so a field is not one typed Arrow column. ``Values``
keeps, per row, its JSON kind (missing, null, boolean, integer, number, string, array, object)
and the value in the array of that kind; the contract checks and the conversions to the staged
column types are vectorised over these arrays. ``exact`` holds the Python value of the rare
rows Arrow cannot carry exactly (integers beyond int64; nested arrays and objects).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workflows.staging import formats

MISSING, NULL, BOOL, INT, FLOAT, STRING, ARRAY, OBJECT = range(8)
KIND_NAMES = ("missing", "null", "boolean", "integer", "number", "string", "array", "object")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PY_KIND = {type(None): NULL, bool: BOOL, int: INT, float: FLOAT, str: STRING, list: ARRAY, dict: OBJECT}
# CSV text that is a number (decimal notation, optional exponent); anything else is text
NUMBER_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
INTEGER_TEXT = r"^[+-]?[0-9]+$"
TRUE_TEXT, FALSE_TEXT = ("t", "true", "1", "y", "yes"), ("f", "false", "0", "n", "no")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


ABSENT = _Missing()  # a key not present in its object (JSON's "missing", unlike null)
_KIND_OF = {**_PY_KIND, _Missing: MISSING}


@dataclass
class Values:
    """One field over n rows. Arrays hold a value only where ``kind`` says so (null elsewhere)."""

    kind: np.ndarray                      # int8 per row
    ints: pa.Array                        # int64: INT rows within int64
    floats: pa.Array                      # float64: FLOAT rows (and INT rows, as float, for comparisons)
    strings: pa.Array                     # string: STRING rows
    bools: pa.Array                       # bool: BOOL rows
    exact: dict[int, Any] = field(default_factory=dict)  # row -> Python value (big ints, arrays, objects)
    unrepresentable: dict[int, str] = field(default_factory=dict)  # row -> why the value cannot be stored
    texts: pa.Array | None = None         # CSV: the field's text as read (null = unquoted empty)
    parsed: dict = field(default_factory=dict)  # format -> its strings parsed (formats.Parsed), once

    def timestamps(self, fmt: str):
        """The strings parsed as ``date-time`` / ``local-date-time`` (computed once per format)."""
        if fmt not in self.parsed:
            self.parsed[fmt] = formats.parse_timestamps(self.strings, fmt)
        return self.parsed[fmt]

    def __len__(self) -> int:
        return len(self.kind)

    def is_kind(self, *kinds: int) -> np.ndarray:
        return np.isin(self.kind, kinds)

    def value(self, row: int) -> Any:
        """The JSON value of one row (ABSENT when missing), for jsonschema's wording of a reject."""
        k = self.kind[row]
        if row in self.exact:
            return self.exact[row]
        if k == MISSING:
            return ABSENT
        if k == NULL:
            return None
        if k == BOOL:
            return self.bools[row].as_py()
        if k == INT:
            return self.ints[row].as_py()
        if k == FLOAT:
            return self.floats[row].as_py()
        return self.strings[row].as_py()

    def take(self, rows: np.ndarray) -> "Values":
        """The values of ``rows`` (indices, ascending), in that order."""
        if len(rows) == len(self.kind) and (len(rows) == 0 or (rows[0] == 0 and rows[-1] == len(rows) - 1)):
            return self  # every row, in order
        index = pa.array(rows, pa.int64())
        sparse = sorted(set(self.exact) | set(self.unrepresentable))
        found = np.searchsorted(rows, sparse) if sparse else []
        remap = {old: int(new) for old, new in zip(sparse, found) if new < len(rows) and rows[new] == old}
        return Values(
            kind=self.kind[rows], ints=self.ints.take(index), floats=self.floats.take(index),
            strings=self.strings.take(index), bools=self.bools.take(index),
            exact={remap[r]: v for r, v in self.exact.items() if r in remap},
            unrepresentable={remap[r]: v for r, v in self.unrepresentable.items() if r in remap},
            texts=None if self.texts is None else self.texts.take(index),
            parsed={fmt: p.take(index, rows) for fmt, p in self.parsed.items()},
        )


def _nulls(n: int, type_: pa.DataType) -> pa.Array:
    return pa.nulls(n, type_)


def _mask(n: int, rows: Iterable[int]) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[list(rows)] = True
    return out


def from_python(values: list, missing: Callable[[np.ndarray], np.ndarray] | None = None) -> Values:
    """``Values`` of Python JSON values (``ABSENT`` for a missing key). Uniform columns (all
    strings, all integers, …, with nulls) convert in one Arrow call; mixed ones value by value.
    ``missing(rows)`` may tell, for the rows holding None, which of them lack the key (cheaper
    than marking every absent value with ``ABSENT``: nulls are few)."""
    out = _from_python(values)
    if missing is not None:
        nulls = np.flatnonzero(out.kind == NULL)
        if len(nulls):
            out.kind[nulls[missing(nulls)]] = MISSING
    return out


def _from_python(values: list) -> Values:
    types = set(map(type, values))
    simple = types - {type(None), _Missing}
    if len(simple) <= 1:
        only = next(iter(simple), type(None))
        if only in (str, int, bool, float, type(None)):
            try:
                return _uniform(values, types, only)
            except (OverflowError, UnicodeEncodeError, pa.ArrowException):
                pass  # a big integer or a lone surrogate: value by value
    elif simple <= {str, int, float, bool, list, dict}:
        try:
            return _by_kind(values, types)
        except (OverflowError, UnicodeEncodeError, pa.ArrowException, KeyError):
            pass
    return _mixed(values)


def _by_kind(values: list, types: set) -> Values:
    """A column of several JSON types: one Arrow conversion per type present (no per-value branches
    in Python beyond one pass per type)."""
    n = len(values)
    kinds = list(map(type, values))
    kind = np.fromiter(map(_KIND_OF.__getitem__, kinds), dtype=np.int8, count=n)
    ints, floats = _nulls(n, pa.int64()), _nulls(n, pa.float64())
    strings, bools = _nulls(n, pa.string()), _nulls(n, pa.bool_())
    exact: dict[int, Any] = {}
    if str in types:
        strings = pa.array([v if t is str else None for v, t in zip(values, kinds)], pa.string())
    if int in types:
        ints = pa.array([v if t is int else None for v, t in zip(values, kinds)], pa.int64())
    if int in types or float in types:
        floats = pa.array([v if t is float else float(v) if t is int else None for v, t in zip(values, kinds)],
                          pa.float64())
    if bool in types:
        bools = pa.array([v if t is bool else None for v, t in zip(values, kinds)], pa.bool_())
    if list in types or dict in types:
        exact = {i: v for i, (v, t) in enumerate(zip(values, kinds)) if t is list or t is dict}
    out = Values(kind, ints, floats, strings, bools, exact)
    if float in types:
        _flag_non_finite(out)
    return out


def _uniform(values: list, types: set, only: type) -> Values:
    n = len(values)
    kind = np.full(n, NULL, dtype=np.int8)
    if _Missing in types:
        kind[[i for i, v in enumerate(values) if v is ABSENT]] = MISSING
        values = [None if v is ABSENT else v for v in values]
    if only is type(None):
        return Values(kind, _nulls(n, pa.int64()), _nulls(n, pa.float64()), _nulls(n, pa.string()), _nulls(n, pa.bool_()))
    target = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}[only]
    arr = pa.array(values, target)
    present = np.asarray(arr.is_valid())
    kind[present] = _PY_KIND[only]
    ints, floats = _nulls(n, pa.int64()), _nulls(n, pa.float64())
    strings, bools = _nulls(n, pa.string()), _nulls(n, pa.bool_())
    if only is str:
        strings = arr
    elif only is int:
        ints, floats = arr, pc.cast(arr, pa.float64())
    elif only is float:
        floats = arr
    else:
        bools = arr
    out = Values(kind, ints, floats, strings, bools)
    if only is float:
        _flag_non_finite(out)
    return out


def _mixed(values: list) -> Values:
    n = len(values)
    kind = np.empty(n, dtype=np.int8)
    ints: list = [None] * n
    floats: list = [None] * n
    strings: list = [None] * n
    bools: list = [None] * n
    exact: dict[int, Any] = {}
    bad: dict[int, str] = {}
    for i, v in enumerate(values):
        t = type(v)
        if v is ABSENT:
            kind[i] = MISSING
            continue
        k = _PY_KIND.get(t)
        if k is None:  # a subclass (never produced by the JSON readers); classify by isinstance
            k = next((code for py, code in _PY_KIND.items() if isinstance(v, py)), STRING)
        kind[i] = k
        if k == INT:
            if _INT64_MIN <= v <= _INT64_MAX:
                ints[i] = v
            else:
                exact[i] = v
            floats[i] = float(v) if abs(v) < 1e308 else math.copysign(math.inf, v)
        elif k == FLOAT:
            floats[i] = v
        elif k == STRING:
            try:
                v.encode("utf-8")
                strings[i] = v
            except UnicodeEncodeError:
                exact[i] = v
                bad[i] = "a lone surrogate (not Unicode text)"
        elif k == BOOL:
            bools[i] = v
        elif k in (ARRAY, OBJECT):
            exact[i] = v
    out = Values(kind, pa.array(ints, pa.int64()), pa.array(floats, pa.float64()),
                 pa.array(strings, pa.string()), pa.array(bools, pa.bool_()), exact, bad)
    _flag_non_finite(out)
    return out


def _flag_non_finite(values: Values) -> None:
    """NaN / Infinity are not JSON; they arrive only from a number too large for a double."""
    floats = values.floats
    if floats.null_count == len(floats):
        return
    finite = pc.is_finite(floats)
    bad = pc.and_(pc.is_valid(floats), pc.invert(finite))
    if pc.any(bad).as_py():
        for row in np.flatnonzero(np.asarray(pc.fill_null(bad, False))):
            values.unrepresentable.setdefault(int(row), "a number beyond the range of a double")


def from_text(texts: pa.Array, json_types: frozenset[str]) -> Values:
    """``Values`` of CSV fields: a null (unquoted empty) is JSON null; text is a number where the
    field's schema allows numbers and it reads as one, a boolean where booleans are allowed and it
    reads as t/f/true/false/1/0/y/n/yes/no, else a string."""
    n = len(texts)
    kind = np.where(np.asarray(texts.is_valid()), STRING, NULL).astype(np.int8)
    ints, floats = _nulls(n, pa.int64()), _nulls(n, pa.float64())
    bools = _nulls(n, pa.bool_())
    exact: dict[int, Any] = {}
    strings = texts
    if "integer" in json_types or "number" in json_types:
        numeric = np.asarray(pc.fill_null(pc.match_substring_regex(texts, NUMBER_TEXT), False))
        if numeric.any():
            integral = numeric & np.asarray(pc.fill_null(pc.match_substring_regex(texts, INTEGER_TEXT), False))
            ints, big = _cast_ints(texts, integral)
            for row in big:
                exact[row] = int(texts[row].as_py())
            floats = _cast_floats(texts, numeric)
            kind[integral] = INT
            kind[numeric & ~integral] = FLOAT
            strings = pc.if_else(pa.array(numeric), pa.scalar(None, pa.string()), texts)
    if "boolean" in json_types:
        lowered = pc.utf8_lower(texts)
        is_true = np.asarray(pc.fill_null(pc.is_in(lowered, pa.array(TRUE_TEXT)), False))
        is_false = np.asarray(pc.fill_null(pc.is_in(lowered, pa.array(FALSE_TEXT)), False))
        boolean = (is_true | is_false) & (kind == STRING)
        if boolean.any():
            kind[boolean] = BOOL
            bools = pc.if_else(pa.array(boolean), pa.array(is_true), pa.scalar(None, pa.bool_()))
            strings = pc.if_else(pa.array(boolean), pa.scalar(None, pa.string()), strings)
    out = Values(kind, ints, floats, strings, bools, exact, texts=texts)
    _flag_non_finite(out)
    return out


def _cast_ints(texts: pa.Array, integral: np.ndarray) -> tuple[pa.Array, list[int]]:
    """int64 of the integral texts; the rows beyond int64 (kept exact by the caller)."""
    masked = pc.if_else(pa.array(integral), texts, pa.scalar(None, pa.string()))
    try:
        return pc.cast(masked, pa.int64()), []
    except pa.ArrowInvalid:
        big = [i for i in np.flatnonzero(integral) if not _INT64_MIN <= int(texts[int(i)].as_py()) <= _INT64_MAX]
        keep = integral & ~_mask(len(texts), big)
        masked = pc.if_else(pa.array(keep), texts, pa.scalar(None, pa.string()))
        return pc.cast(masked, pa.int64()), [int(i) for i in big]


def _cast_floats(texts: pa.Array, numeric: np.ndarray) -> pa.Array:
    masked = pc.if_else(pa.array(numeric), texts, pa.scalar(None, pa.string()))
    return pc.cast(masked, pa.float64())


_PYTHON_TRUE = re.compile(r"(?i)^(t|true|1|y|yes)$")


def text_value(text: str | None, json_types: frozenset[str]) -> Any:
    """One CSV field's JSON value, as ``from_text`` reads it (for the property tests and wording)."""
    if text is None:
        return None
    if ("integer" in json_types or "number" in json_types) and re.fullmatch(NUMBER_TEXT[1:-1], text):
        if re.fullmatch(INTEGER_TEXT[1:-1], text):
            return int(text)
        return float(text)
    if "boolean" in json_types and text.lower() in TRUE_TEXT + FALSE_TEXT:
        return text.lower() in TRUE_TEXT
    return text
