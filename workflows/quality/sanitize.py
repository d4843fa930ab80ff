"""Values made safe to store (jsonb, text) and show (a workbook cell), whatever a sample contains.

PostgreSQL text and jsonb refuse NUL (``\\u0000``) and lone surrogates; an Excel cell refuses
other control characters; a 1 MB value would swamp a report. ``safe`` makes control
characters and lone surrogates visible as escapes (``\\u0000``, ``\\ud800``), cuts long strings,
long lists and deep nesting, and turns anything else JSON cannot hold into text.
"""
from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from typing import Any

TEXT_LIMIT = 200      # characters of one string kept in a stored sample
ITEMS_LIMIT = 20      # items of a list / keys of an object kept
DEPTH_LIMIT = 4
MESSAGE_LIMIT = 2000  # characters of a stored message / observed / threshold text

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A string safe for text/jsonb and an Excel cell: control characters and lone surrogates
    escaped, cut to ``limit`` characters (with the original length said)."""
    s = value if isinstance(value, str) else str(value)
    if len(s) > limit:
        s = s[:limit] + f"… ({len(s)} chars)"
    return _CONTROL.sub(_escape, _SURROGATE.sub(_escape, s))


def safe(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` that json / jsonb / a cell can always hold."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return text(bytes(value).decode("utf-8", "backslashreplace"))
    if isinstance(value, str):
        return text(value)
    if depth >= DEPTH_LIMIT:
        return text(repr(value))
    if isinstance(value, dict):
        items = list(value.items())
        out = {text(k, 64): safe(v, depth + 1) for k, v in items[:ITEMS_LIMIT]}
        if len(items) > ITEMS_LIMIT:
            out["…"] = f"{len(items) - ITEMS_LIMIT} more fields"
        return out
    if isinstance(value, (list, tuple)):
        out = [safe(v, depth + 1) for v in list(value)[:ITEMS_LIMIT]]
        if len(value) > ITEMS_LIMIT:
            out.append(f"… {len(value) - ITEMS_LIMIT} more")
        return out
    return text(repr(value))


def message(value: Any) -> str | None:
    """A stored message / observed / threshold: safe text, or None for empty."""
    if value is None or value == "":
        return None
    return text(value, MESSAGE_LIMIT)
