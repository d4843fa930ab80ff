"""Strict JSON text: what landing keeps and staging judges, shared so both agree.

Python's ``json`` accepts NaN/Infinity and resolves a repeated field last-wins; real exports carry
both. ``loads`` keeps them visible instead: an object with a repeated field becomes a
``DuplicateFields`` (a dict of the last values, remembering every pair), a bare ``NaN`` /
``Infinity`` a ``NotJson`` token. ``dumps`` writes such values back as received (non-ASCII and lone surrogates as \\u escapes), so a
landed envelope still shows the defect and staging quarantines that one record.
``defect`` names the first such problem inside a value.
"""
from __future__ import annotations

import json
from typing import Any


class DuplicateFields(dict):
    """An object whose text repeats a field; ``pairs`` keeps every (field, value) in order."""

    def __init__(self, pairs: list[tuple[str, Any]]):
        super().__init__(pairs)
        self.pairs = pairs
        seen: set[str] = set()
        self.repeated = sorted({k for k, _ in pairs if k in seen or seen.add(k)})


class NotJson:
    """A NaN / Infinity / -Infinity token: accepted by Python's json, not JSON."""

    def __init__(self, token: str):
        self.token = token

    def __repr__(self) -> str:
        return self.token


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    return DuplicateFields(pairs) if len(set(keys)) != len(keys) else dict(pairs)


def loads(text: str | bytes) -> Any:
    """Parse JSON text keeping repeated fields and NaN tokens visible (ValueError if it is not JSON)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=NotJson)


def defect(value: Any) -> str | None:
    """The first JSON defect inside ``value``: a repeated field or a NaN token; None when clean."""
    if isinstance(value, DuplicateFields):
        return f"the field(s) {', '.join(map(repr, value.repeated))} appear more than once (ambiguous)"
    if isinstance(value, NotJson):
        return f"{value.token} is not a JSON number"
    if isinstance(value, dict):
        return next((d for d in map(defect, value.values()) if d), None)
    if isinstance(value, list):
        return next((d for d in map(defect, value) if d), None)
    return None


def dumps(value: Any) -> str:
    """JSON text of ``value``, writing DuplicateFields pairs and NotJson tokens back as received."""
    if isinstance(value, DuplicateFields):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, NotJson):
        return value.token
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(dumps, value)) + "]"
    return json.dumps(value)
