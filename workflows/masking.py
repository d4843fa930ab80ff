"""Masking of personal fields in samples that leave the warehouse (DQ store, report)."""
from __future__ import annotations

import re
from typing import Any

PERSONAL = re.compile(
    r"(e_?mail|phone|first_?name|last_?name|middle_?name|full_?name|customer_?name|person_?name|^name$|"
    r"firstname|lastname|middlename|username|login|password|national_?id|birth|"
    r"street|address|zip_?code|postcode|city|lat(itude)?$|long(itude)?$|geolocation|ip(_address)?$|user_agent)",
    re.IGNORECASE,
)


def mask_value(value: Any) -> Any:
    """Keep the first character (and an e-mail's domain's first character); hide the rest."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    text = str(value)
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    return f"{text[:1]}***" if text else text


def mask(record: Any) -> Any:
    """A copy of ``record`` with every personal field (by name, at any depth) masked."""
    if isinstance(record, dict):
        return {k: mask_value(v) if PERSONAL.search(str(k)) else mask(v) for k, v in record.items()}
    if isinstance(record, list):
        return [mask(v) for v in record]
    return record


_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|-?\b\d+(\.\d+)?")
_NAME = re.compile(r"^['\"][A-Za-z_][A-Za-z0-9_]*['\"]$")


def reason_class(reason: str) -> str:
    """The reason with its concrete values blanked, for grouping: numbers become '#', quoted
    values '…'; quoted identifiers (field and type names) are kept."""
    def blank(m: re.Match) -> str:
        text = m.group(0)
        if text[0] in "'\"":
            return text if _NAME.match(text) else "…"
        return "#"

    return _VALUES.sub(blank, reason)
