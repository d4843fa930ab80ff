"""JSON Lines reading shared by landing and staging: what counts as a record, and strict JSON decoding."""
from __future__ import annotations

import json
from typing import Any, Iterator


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# Strict JSON: NaN / Infinity (which Python's json accepts) are errors, not numbers.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def records(path: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without surrounding whitespace) per non-blank line, streamed.

    Blank lines are not records: landing counts and staging reads exactly these.
    """
    with open(path, "rb", buffering=1 << 20) as f:
        for line_no, line in enumerate(f, 1):
            text = line.strip()
            if text:
                yield line_no, text


def decode(line: bytes) -> Any:
    """The line's JSON value; ValueError (incl. UnicodeDecodeError, JSONDecodeError) when it is not strict JSON."""
    return _DECODER.decode(line.decode("utf-8"))
