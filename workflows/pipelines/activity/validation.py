"""Record validation: jsonschema is the authority; a cheap typed pre-check derived from the same schema
lets the common, valid line skip it.

``prefilter(schema)`` returns a predicate that answers True only for records the
schema certainly accepts (a subset of it: stricter types, no ``1.0`` for an
integer, string-only enums). Anything else goes to the jsonschema validator,
which decides and words the reason. The pre-check supports a small set of
keywords and refuses to build for any other, so it can never accept what the
schema rejects.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import jsonschema

ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "examples", "default"}
PROPERTY_KEYWORDS = {"type", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern"} | ANNOTATIONS
RECORD_KEYWORDS = {"type", "required", "properties"} | ANNOTATIONS
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "null": (type(None),), "object": (dict,), "array": (list,),
}


def _unsupported(where: str, keywords: set[str]) -> None:
    if keywords:
        raise ValueError(f"prefilter cannot express {sorted(keywords)} at {where}; extend it or use full validation")


def _property_check(name: str, spec: dict) -> Callable[[Any], bool]:
    """True when the value certainly satisfies ``spec``."""
    _unsupported(f"properties.{name}", set(spec) - PROPERTY_KEYWORDS)
    types = spec.get("type")
    allowed = tuple(t for name_ in ([types] if isinstance(types, str) else types or []) for t in PYTHON_TYPES[name_])
    enum = spec.get("enum")
    if enum is not None and not all(isinstance(e, str) for e in enum):
        raise ValueError(f"prefilter supports string enums only (properties.{name})")
    enum = frozenset(enum) if enum is not None else None
    low, high = spec.get("minimum"), spec.get("maximum")
    min_len, max_len = spec.get("minLength", 0), spec.get("maxLength")
    pattern = re.compile(spec["pattern"]) if "pattern" in spec else None

    def check(value: Any) -> bool:
        kind = type(value)  # exact types: bool is not an integer, 1.0 is left to jsonschema
        if allowed and kind not in allowed:
            return False
        if enum is not None and (kind is not str or value not in enum):
            return False
        if kind is int or kind is float:
            return (low is None or value >= low) and (high is None or value <= high)
        if kind is str:
            return (min_len <= len(value) and (max_len is None or len(value) <= max_len)
                    and (pattern is None or pattern.search(value) is not None))
        return True

    return check


def prefilter(schema: dict) -> Callable[[Any], bool]:
    """A predicate accepting a subset of what ``schema`` (an object schema) accepts, quickly."""
    _unsupported("the root", set(schema) - RECORD_KEYWORDS)
    if schema.get("type") != "object":
        raise ValueError("prefilter needs an object schema")
    required = tuple(schema.get("required", ()))
    checks = tuple((name, _property_check(name, spec)) for name, spec in schema.get("properties", {}).items())

    def accept(record: Any) -> bool:
        if type(record) is not dict:
            return False
        for name in required:
            if name not in record:
                return False
        for name, check in checks:
            if name in record and not check(record[name]):
                return False
        return True

    return accept


def schema_error(validator: jsonschema.protocols.Validator, record: Any) -> str | None:
    """jsonschema's most relevant error as ``<json path>: <message>``, or None when valid."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(record))
    return None if error is None else f"{error.json_path}: {error.message}"
