"""The reject vocabulary every pipeline shares, and the streamed quarantine file.

Each quarantined record is one JSON line of ``quarantine/<pipeline>/<entity>/ds=<ds>/rejects.jsonl``:
``{pipeline, entity, ds, rule, reason, line, lines, record}`` — ``line`` is where the record
starts in the raw file (physical line for JSONL and CSV, the header being line 1; the record's
position for a JSON envelope), ``lines`` how many physical lines it spans, ``record`` the record
as read (personal fields protected, long values cut). The rules are listed in ``RULES``
(docs/rejects.md explains each).
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

RULES = {
    "json": "not valid JSON: syntax, NaN/Infinity, a duplicated field (ambiguous), not UTF-8 text at the JSON level",
    "csv": "not a valid CSV record: wrong number of fields, an unterminated quote",
    "encoding": "bytes that are not UTF-8",
    "oversize": "a record larger than [staging] max_record_bytes",
    "required": "a required field is missing",
    "type": "a value of the wrong JSON type (including null where null is not allowed)",
    "enum": "a value outside the declared enum / const",
    "range": "a number outside minimum / maximum / exclusiveMinimum / exclusiveMaximum",
    "length": "a string outside minLength / maxLength",
    "pattern": "a string not matching the declared pattern",
    "format": "a string that is not a valid date / date-time, or a value a declared transform cannot read",
    "unrepresentable": "valid by the contract but not storable: NUL, lone surrogate, beyond the column type, "
                       "an instant outside years 1-9999",
    "duplicate_key": "repeats the entity key of an earlier record of the file (first wins)",
    "superseded": "repeats the entity key of a later record of the file (last wins)",
    "lookup": "references a key not staged for the same ds in the referenced entity",
}
# jsonschema keyword of the best-matching error -> rule
KEYWORD_RULES = {
    "required": "required", "type": "type", "enum": "enum", "const": "enum",
    "minimum": "range", "maximum": "range", "exclusiveMinimum": "range", "exclusiveMaximum": "range",
    "minLength": "length", "maxLength": "length", "pattern": "pattern", "format": "format",
}
TEXT_LIMIT = 300      # characters of a line kept when the record could not be read
VALUE_LIMIT = 1000    # characters of one string value kept in a quarantined record


def cut(value: Any) -> Any:
    """A copy safe to store and show: strings longer than VALUE_LIMIT cut, NUL and lone surrogates
    made visible (``\\u0000``), nested values likewise."""
    if isinstance(value, str):
        text = value if len(value) <= VALUE_LIMIT else value[:VALUE_LIMIT] + f"… ({len(value)} chars)"
        return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {str(cut(k)): cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cut(v) for v in value[:100]]
    return value


class RejectWriter:
    """Appends rejects to the quarantine file as they are found (nothing held in memory) and counts them.

    ``protect`` maps a personal source field to a function giving what may be stored instead
    (a pseudonym, a masked value); a field it cannot protect is replaced by ``<redacted>``. For
    a record that could not be read, those fields' values are blanked in its text.
    """

    def __init__(self, path: str, extra: dict, protect: dict[str, Callable[[Any], Any]] | None = None):
        self._file = open(path, "w", encoding="utf-8")
        self._extra = extra
        self._protect = protect or {}
        self._text_fields = (re.compile(r'("(?:%s)"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]*)'
                                        % "|".join(map(re.escape, self._protect))) if self._protect else None)
        self.count = 0
        self.units = 0
        self.lines = 0
        self.by_rule: dict[str, int] = {}

    def _protected(self, record: Any) -> Any:
        if not self._protect or not isinstance(record, dict):
            return record
        out = dict(record)
        for name, protect in self._protect.items():
            if out.get(name) is not None:
                try:
                    out[name] = protect(out[name])
                except Exception:  # noqa: BLE001 - any value it cannot protect is not stored at all
                    out[name] = "<redacted>"
        return out

    def text(self, raw: bytes | str) -> str:
        """A line that could not be read: decoded with replacement, cut, personal values blanked."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if self._text_fields is not None:
            text = self._text_fields.sub(r'\1"<redacted>"', text)
        return cut(text[:TEXT_LIMIT])

    def add(self, rule: str, reason: str, line: int | None, record: Any, *, lines: int = 1, units: int = 1,
            raw_text: bool = False, **more: Any) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown reject rule {rule!r}")
        shown = self.text(record) if raw_text else cut(self._protected(record))
        row = {**self._extra, "rule": rule, "reason": cut(reason), "line": line, "lines": lines, **more,
               "units": units, "record": shown}
        self._file.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self.count += 1
        self.units += units
        self.lines += lines
        self.by_rule[rule] = self.by_rule.get(rule, 0) + units

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "RejectWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
