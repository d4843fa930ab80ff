"""The vectorised JSON Lines path (pyarrow where a byte scan shows it is exact) against a verdict
computed here, independently: Python's json with a hook that refuses repeated fields and NaN
tokens, strict UTF-8, then jsonschema. Hostile lines sit inside otherwise good blocks, first and
last in a block, across a block boundary and on the file's last line without a newline; each is
quarantined alone at its own line and every good line of its block is staged with its value.
"""
from __future__ import annotations

import json
import math
import os

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflows.staging import jsonl, readers
from workflows.staging.contract import compile_contract
from workflows.staging.engine import StagedColumn as C
from workflows.staging.engine import StageSpec, stage

SCHEMA = {
    "type": "object",
    "required": ["id", "name", "uid", "amount"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "maxLength": 40},
        "uid": {"type": ["integer", "string"], "minimum": 0},
        "amount": {"type": "number", "minimum": 0},
        "flag": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
    },
}
COLUMNS = (C("line", pa.int64(), "$line"), C("id", pa.int64(), "id"), C("name", pa.string(), "name"),
           C("uid", pa.string(), "uid"), C("amount", pa.float64(), "amount"), C("flag", pa.bool_(), "flag"),
           C("note", pa.string(), "note"))
# the rule of a contract reject, by the keyword of jsonschema's best match (docs/rejects.md)
RULE_OF = {"required": "required", "type": "type", "minimum": "range", "maxLength": "length"}

HOSTILE = [
    b'{"id": 1, "name": "a", "uid": 1, "amount": NaN}',
    b'{"id": 1, "name": "a", "uid": 1, "amount": -NaN}',
    b'{"id": 1, "name": "a", "uid": 1, "amount": Infinity}',
    b'{"id": 1, "name": "a", "uid": 1, "amount": -Infinity}',
    b'{"id": 1, "name": "a", "uid": 1, "amount": 1, "extra": NaN}',          # NaN in an unknown field
    b'{"id": 1, "name": "a", "name": "b", "uid": 1, "amount": 1}',           # a repeated field
    b'{"id": 1, "name": "a", "uid": 1, "amount": 1, "x": {"q": 1, "q": 2}}',  # repeated inside an unknown one
    b'{"id": 1, "name": "a", "uid": 1, "amount": 1}{"id": 2, "name": "b", "uid": 2, "amount": 2}',
    b'null',
    b'[1, 2]',
    b'{"id": 1, "name": "\\ud800", "uid": 1, "amount": 1}',                 # a lone surrogate
    b'{"id": 1, "name": "\xff", "uid": 1, "amount": 1}',                      # not UTF-8
    b'{"id": 1, "name": "a\x01b", "uid": 1, "amount": 1}',                    # a raw control character
    b'{"id": 1, "name": "a", "uid": 1, "amount": 1e400}',
    b'{"id": 1, "name": "x}", "uid": 1, "amount": 1, "note": "trunc}',       # truncated, ends with }
    b'{"id": 01, "name": "a", "uid": 1, "amount": 1}',
    b'{"id": 1, "name": "a", "uid": 1, "amount": 1,}',
    b"{'id': 1, 'name': 'a', 'uid': 1, 'amount': 1}",
    b'\xef\xbb\xbf{"id": 1, "name": "a", "uid": 1, "amount": 1}',            # a BOM inside the file
    b'{"id": "1", "name": "a", "uid": 1, "amount": 1}',                      # text for an integer
    b'{"id": 1.5, "name": "a", "uid": 1, "amount": 1}',
    b'{"id": 1, "name": "a", "uid": true, "amount": 1}',
    b'{"id": 1, "name": "a", "uid": -3, "amount": 1}',
    b'{"id": 1, "name": "a", "uid": 1, "amount": "12ms"}',
    b'{"id": 1, "name": "a", "uid": 1}',                                     # missing amount
    b'{"id": 1, "name": null, "uid": 1, "amount": 1}',
    b'{"id": 1, "name": "a", "uid": 1, "amount": 1, "flag": null}',
    b'{"id": 1, "name": "' + b"n" * 41 + b'", "uid": 1, "amount": 1}',
    b'{"id": 0, "name": "a", "uid": 1, "amount": 1}',
    b'{"id": 9223372036854775808, "name": "a", "uid": 1, "amount": 1}',      # beyond int64
    b'{"id": 1, "name": "a", "uid": [1], "amount": 1}',
    b'{"id": 1, "name": {"a": 1}, "uid": 1, "amount": 1}',
    b'{"id": 1, "name": "a\\u0000b", "uid": 1, "amount": 1}',               # NUL: unrepresentable
]
TRICKY_GOOD = [
    b'{"id": 7, "name": "say \\"id\\": 5", "uid": "u-7", "amount": 0.25}',  # a key-like text in a value
    b'{"id" : 7, "name" : "spaced", "uid" : 7, "amount" : 7}',             # space before the colon
    b'{"id":\t7, "name": "tab", "uid": 7, "amount": 7}',                    # a tab between tokens
    b'{"id": 7, "name": "extra", "uid": 7, "amount": 7, "other": [1, {"z": 2}]}',  # an unknown field
    b'{"id": 7.0, "name": "float id", "uid": 7.0, "amount": 7}',
    b'{"id": 9007199254740993, "name": "2**53+1", "uid": 9007199254740993, "amount": 1}',
    b'{"id": 9223372036854775807, "name": "int64 max", "uid": 1, "amount": 1}',
    b'{"id": 7, "name": "caf\xc3\xa9 \\u00e9 \\ud83d\\ude00", "uid": "7", "amount": 1E2}',
    b'{"id": 7, "name": "crlf", "uid": 7, "amount": -0}\r',
    b'{"id": 7, "name": "note null", "uid": 7, "amount": 1, "note": null, "flag": false}',
    b'{"amount": 3, "uid": 3, "name": "order", "id": 3}',                   # another key order
    b'{}',
]


def good(i: int) -> bytes:
    uid = i if i % 3 else f"user-{i}"               # integers and text: two pyarrow groups
    amount = i if i % 2 else i + 0.5
    flag = {"flag": i % 2 == 0} if i % 5 == 0 else {}  # most lines have the hostile lines' fields
    return json.dumps({"id": i, "name": f"n{i}", "uid": uid, "amount": amount, **flag}).encode()


def _no_repeats(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("repeated field")
    return dict(pairs)


def _constant(token):
    raise ValueError(token)


def verdict(raw: bytes):
    """('staged', row) or ('rejected', rule) for one non-blank line, computed without the engine."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "rejected", "encoding"
    try:
        record = json.loads(text, object_pairs_hook=_no_repeats, parse_constant=_constant)
    except (ValueError, RecursionError):
        return "rejected", "json"
    if not isinstance(record, dict):
        return "rejected", "type"
    validator = jsonschema.Draft202012Validator(SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(record))
    if error is not None:
        return "rejected", RULE_OF[error.validator]
    for value in record.values():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "rejected", "unrepresentable"
            if "\x00" in value:
                return "rejected", "unrepresentable"
    if not -(2**63) <= record["id"] < 2**63 or not math.isfinite(record["amount"]):
        return "rejected", "unrepresentable"   # beyond int64; a number beyond the range of a double
    uid = record["uid"]
    row = {"id": int(record["id"]), "name": record["name"],
           "uid": str(int(uid)) if isinstance(uid, float) and uid.is_integer() else str(uid),
           "amount": float(record["amount"]), "flag": record.get("flag"), "note": record.get("note")}
    return "staged", row


def build(layout: list[bytes], newline_at_end: bool = True) -> bytes:
    return b"\n".join(layout) + (b"\n" if newline_at_end else b"")


def run(tmp_path, data: bytes, **kw):
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(data)
    out, rej = tmp_path / "out.parquet", tmp_path / "rejects.jsonl"
    spec = StageSpec("t", "jsonl", compile_contract("t", SCHEMA), COLUMNS, max_record_bytes=1 << 20, **kw)
    stats = stage(spec, str(raw), str(out), str(rej), {})
    staged = pq.read_table(out).to_pylist()
    rejects = [json.loads(x) for x in rej.read_text(encoding="utf-8").splitlines()]
    return staged, rejects, stats


def expected(layout: list[bytes]):
    staged, rejected = {}, {}
    for n, raw in enumerate(layout, 1):
        if not raw.strip() or raw.isspace():
            continue
        outcome, detail = verdict(raw.rstrip(b"\r"))
        if outcome == "staged":
            staged[n] = detail
        else:
            rejected[n] = detail
    return staged, rejected


def check(tmp_path, layout: list[bytes], newline_at_end: bool = True):
    want_staged, want_rejected = expected(layout)
    staged, rejects, stats = run(tmp_path, build(layout, newline_at_end))
    assert {r["line"]: r["rule"] for r in rejects} == want_rejected
    assert [r["line"] for r in staged] == sorted(want_staged)  # in line order
    for row in staged:
        want = want_staged[row["line"]]
        got = {k: row[k] for k in want}
        assert got == want, row["line"]
    assert stats.records == len(want_staged) + len(want_rejected)
    return staged, rejects, stats


@pytest.fixture
def counted(monkeypatch):
    """Rows pyarrow read (the vectorised path), so a test cannot pass through the exact path alone."""
    seen = {"rows": 0}
    parse = jsonl._parse

    def counting(buf, schema):
        table = parse(buf, schema)
        if table is not None:
            seen["rows"] += table.num_rows
        return table

    monkeypatch.setattr(jsonl, "_parse", counting)
    return seen


def test_hostile_lines_inside_good_blocks(tmp_path, counted):
    layout = [good(i) for i in range(1, 301)]
    for k, raw in enumerate(HOSTILE + TRICKY_GOOD):
        layout.insert(5 + 7 * k, raw)
    layout.insert(0, b"   ")           # blank lines are not records
    layout.insert(100, b"\x0b\x0c")
    check(tmp_path, layout)
    assert counted["rows"] >= 250      # most good lines went through pyarrow


def test_hostile_lines_at_block_boundaries(tmp_path, monkeypatch, counted):
    monkeypatch.setattr(readers, "BLOCK_BYTES", 4096)  # many blocks: hostile lines start and end them
    base = [good(i) for i in range(1, 1201)]
    for k, raw in enumerate(HOSTILE):
        base.insert(60 * k, raw)
    staged, _, _ = check(tmp_path, base + [HOSTILE[0]], newline_at_end=False)  # the last line has no newline
    assert counted["rows"] >= 400     # small blocks: a group under jsonl.SMALL lines is read exactly
    assert len(staged) == 1200


def test_good_lines_read_exactly_like_the_strict_path(tmp_path, monkeypatch, counted):
    layout = [good(i) for i in range(1, 400)] + TRICKY_GOOD * 5
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fast, fast_rejects, fast_stats = check(tmp_path / "a", layout)
    monkeypatch.setattr(jsonl, "supported", lambda contract: False)
    slow, slow_rejects, slow_stats = run(tmp_path / "b", build(layout))
    assert fast == slow and fast_rejects == slow_rejects
    assert fast_stats.as_dict() == slow_stats.as_dict()
    assert "other" in fast_stats.fields        # an unknown field is seen (schema drift)


def test_duplicates_across_batches_and_parts(tmp_path, monkeypatch):
    """Keys repeated far apart (other blocks and batches): first wins; the spill files are gone."""
    monkeypatch.setattr(readers, "BLOCK_BYTES", 8192)
    monkeypatch.setattr(readers, "BATCH_RECORDS", 50)
    ids = list(range(1, 601)) + [5, 300, 599, 5, 42]           # repeats at lines 601..605
    layout = [json.dumps({"id": i, "name": f"v{n}", "uid": i, "amount": 1}).encode() for n, i in enumerate(ids, 1)]
    staged, rejects, stats = run(tmp_path, build(layout), key=("id",), duplicates="first")
    first = {}
    for n, i in enumerate(ids, 1):
        first.setdefault(i, n)
    assert [r["line"] for r in staged] == sorted(first.values())
    assert {r["line"]: (r["rule"], r["winner_line"]) for r in rejects} == {
        n: ("duplicate_key", first[i]) for n, i in enumerate(ids, 1) if first[i] != n}
    assert stats.staged == 600 and stats.quarantined == 5
    assert sorted(os.listdir(tmp_path)) == ["out.parquet", "raw.jsonl", "rejects.jsonl"]


def test_last_wins_across_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BATCH_RECORDS", 7)
    ids = [3, 1, 3, 2, 1, 3]
    layout = [json.dumps({"id": i, "name": f"v{n}", "uid": i, "amount": 1}).encode() for n, i in enumerate(ids, 1)]
    staged, rejects, _ = run(tmp_path, build(layout * 10), key=("id",), duplicates="last")
    last = {}
    for n, i in enumerate(ids * 10, 1):
        last[i] = n
    assert sorted(r["line"] for r in staged) == sorted(last.values())
    assert all(r["rule"] == "superseded" and r["winner_line"] == last[ids[(r["line"] - 1) % 6]] for r in rejects)
    assert len(rejects) == 60 - 3
