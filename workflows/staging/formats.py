"""The string formats the contract knows (``date``, ``date-time``, ``local-date-time``), vectorised and in Python.

- ``date``: ``YYYY-MM-DD``, a real calendar day, year 0001-9999.
- ``date-time``: ``YYYY-MM-DD``, ``T`` or a space, ``hh:mm[:ss[.fraction]]`` (up to 9 fraction
  digits), then optionally a zone: ``Z``, ``±hh``, ``±hhmm`` or ``±hh:mm``. A timestamp without a
  zone is read in the source's declared time zone (``[<pipeline>] timezone``, default UTC).
- ``local-date-time``: the same without a zone (a database ``timestamp`` column).

``parse_timestamps`` (Arrow) and ``python_checker`` (jsonschema's FormatChecker) implement the
same definition; the property tests hold them to it. Fractions beyond microseconds are truncated.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import jsonschema

_DATE = r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
_TIME = r"(?P<hm>[0-9]{2}:[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<frac>[0-9]{1,9}))?)?"
_ZONE = r"(?P<zone>Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)"
PATTERNS = {
    "date": f"^{_DATE}$",
    "date-time": f"^{_DATE}[Tt ]{_TIME}{_ZONE}?$",
    "local-date-time": f"^{_DATE}[Tt ]{_TIME}$",
}
FORMATS = frozenset(PATTERNS)
UTC_US = pa.timestamp("us", tz="UTC")
MIN_US = int((dt.datetime(1, 1, 1) - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
MAX_US = int((dt.datetime(9999, 12, 31, 23, 59, 59, 999999) - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))


def _uncastable(texts: pa.Array, to: pa.DataType, offset: int = 0) -> list[int]:
    """Positions of ``texts`` that do not cast to ``to``, by bisection (a clean half is one cast)."""
    try:
        pc.cast(texts, to)
        return []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(texts) == 1:
            return [offset]
        mid = len(texts) // 2
        return _uncastable(texts.slice(0, mid), to, offset) + _uncastable(texts.slice(mid), to, offset + mid)


def _cast_valid(texts: pa.Array, to: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """(``texts`` cast to ``to`` with the uncastable ones null, mask of uncastable non-null rows).
    The cast decides; rows whose date or time fields are out of range (vectorised) are cast one by
    one first, so a day of impossible dates costs a few casts, not a bisection per bad row."""
    bad = np.zeros(len(texts), dtype=bool)
    try:
        return pc.cast(texts, to), bad
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for row in np.flatnonzero(_out_of_calendar(texts)):
        try:
            pc.cast(texts.slice(int(row), 1), to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad[row] = True
    kept = texts
    if bad.any():  # without them the cast may pass; with nothing removed it fails as it did above
        kept = pc.if_else(pa.array(~bad), texts, pa.scalar(None, texts.type))
        try:
            return pc.cast(kept, to), bad
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    bad[_uncastable(kept, to)] = True
    kept = pc.if_else(pa.array(~bad), texts, pa.scalar(None, texts.type))
    return pc.cast(kept, to), bad


_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _out_of_calendar(texts: pa.Array) -> np.ndarray:
    """Rows of ``YYYY-MM-DD[Thh:mm:ss…]`` texts with a month, day, hour, minute or second out of
    range (Feb 29 in a common year included); all False when the texts are not of that shape."""
    n = len(texts)
    try:
        filled = pc.fill_null(texts, "2000-01-01T00:00:00")
        part = lambda a, b: np.asarray(pc.cast(pc.utf8_slice_codeunits(filled, a, b), pa.int32()))  # noqa: E731
        year, month, day = part(0, 4), part(5, 7), part(8, 10)
        out = (month < 1) | (month > 12) | (day < 1)
        days = _DAYS[np.clip(month, 0, 12)]
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        days = np.where((month == 2) & ~leap, 28, days)
        out |= day > days
        length = np.asarray(pc.utf8_length(filled))
        timed = length >= 19
        if timed.any():
            clock = pc.if_else(pa.array(timed), filled, "2000-01-01T00:00:00")
            hour = np.asarray(pc.cast(pc.utf8_slice_codeunits(clock, 11, 13), pa.int32()))
            minute = np.asarray(pc.cast(pc.utf8_slice_codeunits(clock, 14, 16), pa.int32()))
            second = np.asarray(pc.cast(pc.utf8_slice_codeunits(clock, 17, 19), pa.int32()))
            out |= timed & ((hour > 23) | (minute > 59) | (second > 59))
        return out & np.asarray(texts.is_valid())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.zeros(n, dtype=bool)


def _year_ok(date_text: pa.Array) -> np.ndarray:
    year = pc.cast(pc.utf8_slice_codeunits(date_text, 0, 4), pa.int32())
    return np.asarray(pc.fill_null(pc.greater_equal(year, 1), False))


def valid(texts: pa.Array, fmt: str, parsed: "Parsed | None" = None) -> np.ndarray:
    """Per string: does it satisfy ``fmt`` (null counts as valid: formats apply to strings only)?"""
    if fmt == "date":
        matched = np.asarray(pc.fill_null(pc.match_substring_regex(texts, PATTERNS["date"]), True))
        ok = matched.copy()
        candidates = pc.if_else(pa.array(matched), texts, pa.scalar(None, pa.string()))
        _, bad = _cast_valid(candidates, pa.date32())
        year = _year_ok(pc.if_else(pa.array(matched), pc.fill_null(texts, "0001"), "0001")) | ~matched
        return ok & ~bad & year
    return (parsed or parse_timestamps(texts, fmt)).valid


class Parsed:
    """Timestamps parsed from text: naive wall clock (``local``), zone offset in minutes where the
    text has one (``offset``, null without), and the mask of texts that are valid for the format."""

    def __init__(self, local: pa.Array, offset: pa.Array, valid: np.ndarray):
        self.local, self.offset, self.valid = local, offset, valid

    def take(self, index: pa.Array, rows: np.ndarray) -> "Parsed":
        return Parsed(self.local.take(index), self.offset.take(index), self.valid[rows])


def parse_timestamps(texts: pa.Array, fmt: str) -> Parsed:
    """Parse ``date-time`` / ``local-date-time`` texts (vectorised: one regex, one cast)."""
    n = len(texts)
    parts = pc.extract_regex(pc.fill_null(texts, ""), PATTERNS[fmt])
    matched = np.asarray(parts.is_valid()) & np.asarray(texts.is_valid())
    date = parts.field("date")
    seconds = pc.if_else(pc.equal(parts.field("s"), ""), "00", parts.field("s"))
    frac = pc.utf8_rpad(pc.utf8_slice_codeunits(parts.field("frac"), 0, 6), 6, "0")
    iso = pc.binary_join_element_wise(date, "T", parts.field("hm"), ":", seconds, ".", frac, "")
    iso = pc.if_else(pa.array(matched), iso, pa.scalar(None, pa.string()))
    local, bad = _cast_valid(iso, pa.timestamp("us"))
    ok = matched & ~bad & _year_ok(pc.if_else(pa.array(matched), date, "0000-00-00"))
    local = pc.if_else(pa.array(ok), local, pa.scalar(None, pa.timestamp("us")))
    offset = pa.nulls(n, pa.int32())
    if fmt == "date-time":
        zone = parts.field("zone")
        zoned = np.asarray(pc.fill_null(pc.not_equal(zone, ""), False)) & ok
        if zoned.any():
            zone = pc.if_else(pa.array(zoned), zone, "Z")
            utc = pc.is_in(zone, pa.array(["Z", "z"]))
            digits = pc.if_else(utc, "0000", pc.replace_substring(pc.utf8_slice_codeunits(zone, 1, 10), ":", ""))
            digits = pc.utf8_rpad(digits, 4, "0")  # ±hh means ±hh00
            hours = pc.cast(pc.utf8_slice_codeunits(digits, 0, 2), pa.int32())
            mins = pc.cast(pc.utf8_slice_codeunits(digits, 2, 4), pa.int32())
            sign = pc.if_else(pc.starts_with(zone, "-"), -1, 1)
            minutes = pc.multiply(sign, pc.add(pc.multiply(hours, 60), mins))
            offset = pc.if_else(pa.array(zoned), minutes, pa.scalar(None, pa.int32()))
            sane = np.asarray(pc.and_(pc.less(hours, 24), pc.less(mins, 60)))  # a zone is within ±23:59
            ok = ok & (sane | ~zoned)
            offset = pc.if_else(pa.array(ok), offset, pa.scalar(None, pa.int32()))
    return Parsed(local, offset, ok)


def to_utc(parsed: Parsed, tz: str) -> tuple[pa.Array, np.ndarray]:
    """UTC instants (timestamp[us, UTC]) of parsed texts: an offset where the text has one, else the
    wall clock in ``tz`` (ambiguous and non-existent local times resolve to the earliest instant).
    Returns (instants, mask of rows whose instant is outside year 1-9999)."""
    local_us = pc.cast(parsed.local, pa.int64())
    has_offset = pc.is_valid(parsed.offset)
    shifted = pc.subtract(local_us, pc.multiply(pc.cast(pc.fill_null(parsed.offset, 0), pa.int64()), 60_000_000))
    if tz.upper() == "UTC":
        zoned = local_us
    else:
        zoned = pc.cast(pc.cast(pc.assume_timezone(parsed.local, tz, ambiguous="earliest", nonexistent="earliest"),
                                pa.timestamp("us", tz="UTC")), pa.int64())
    utc_us = pc.if_else(has_offset, shifted, zoned)
    out_of_range = pc.or_(pc.less(utc_us, MIN_US), pc.greater(utc_us, MAX_US))
    out_mask = np.asarray(pc.fill_null(out_of_range, False))
    utc_us = pc.if_else(pa.array(out_mask), pa.scalar(None, pa.int64()), utc_us)
    return pc.cast(utc_us, UTC_US), out_mask


# ── the same formats for jsonschema (rejects are worded by jsonschema with this checker) ──

_COMPILED = {name: re.compile(p) for name, p in PATTERNS.items()}


def _python_datetime(text: str, fmt: str) -> bool:
    m = _COMPILED[fmt].match(text)
    if not m or m.end() != len(text) or "\n" in text:
        return False
    try:
        date = dt.date.fromisoformat(m["date"])
        if date.year < 1:
            return False
        if fmt == "date":
            return True
        hh, mm = int(m["hm"][:2]), int(m["hm"][3:])
        ss = int(m["s"]) if m["s"] else 0
        dt.time(hh, mm, ss)
        zone = m["zone"] if fmt == "date-time" else None
        if zone and zone not in ("Z", "z"):
            digits = zone[1:].replace(":", "")
            if int(digits[:2]) >= 24 or (len(digits) > 2 and int(digits[2:]) >= 60):
                return False
        return True
    except ValueError:
        return False


def python_checker() -> jsonschema.FormatChecker:
    """A FormatChecker knowing exactly the contract's formats (others are annotations, as in jsonschema)."""
    checker = jsonschema.FormatChecker(formats=())
    for name in FORMATS:
        checker.checks(name)(lambda value, _f=name: not isinstance(value, str) or _python_datetime(value, _f))
    return checker
