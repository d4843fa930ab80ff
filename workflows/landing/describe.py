"""What a landed file holds, counted independently of staging: bytes, sha256, non-blank lines, CSV header."""
from __future__ import annotations

import csv
import hashlib

import numpy as np

_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 11, 12, 13, 32]] = True


def _count_lines(chunk: np.ndarray, blank_if_whitespace: bool) -> tuple[int, bool]:
    """(complete non-blank lines in ``chunk``, whether its unfinished last line has content so far)."""
    content = ~_WHITESPACE[chunk] if blank_if_whitespace else (chunk != 10) & (chunk != 13)
    newlines = np.flatnonzero(chunk == 10)
    seen = np.concatenate(([0], np.cumsum(content)))
    bounds = np.concatenate(([0], newlines + 1))
    per_line = seen[bounds[1:] - 1] - seen[bounds[:-1]] if len(newlines) else np.array([], dtype=np.int64)
    tail = seen[-1] - seen[bounds[-1]] > 0
    return int(np.count_nonzero(per_line)), bool(tail)


def describe(path: str, fmt: str) -> dict:
    """``bytes``, ``sha256``, ``lines`` (non-blank physical lines: for JSON Lines a line of only
    whitespace is blank, for CSV an empty one; the CSV header and a leading BOM not counted) and,
    for CSV, the header ``fields``. Streamed in 8 MiB chunks."""
    digest, size, lines, carry, first = hashlib.sha256(), 0, 0, False, True
    header: list[str] | None = None
    with open(path, "rb") as f:
        if fmt == "csv":
            head = f.readline()
            digest.update(head)
            size += len(head)
            text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
            header = [h.strip() for h in next(csv.reader([text.decode("utf-8", "replace").rstrip("\r\n")]), [])]
            first = False
        for chunk in iter(lambda: f.read(8 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
            if first and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            first = False
            arr = np.frombuffer(chunk, dtype=np.uint8)
            newline = np.flatnonzero(arr == 10)
            if carry and len(newline):  # the line continued from the last chunk has content
                lines += 1
                arr = arr[newline[0] + 1:]
                carry = False
            elif carry:
                continue
            complete, tail = _count_lines(arr, fmt == "jsonl")
            lines += complete
            carry = carry or tail
    lines += int(carry)
    out = {"bytes": size, "sha256": digest.hexdigest(), "lines": lines}
    if header is not None:
        out["fields"] = header
    return out
