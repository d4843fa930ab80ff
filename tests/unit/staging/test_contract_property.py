"""Property: on 10,000 generated records per entity schema (valid ones and mutated ones), the
engine's vectorised verdict equals jsonschema's — on parsed records, through the JSON Lines reader,
and (flat schemas) through the CSV reader.

jsonschema is given a FormatChecker written here from the documented formats (docs/staging.md),
independently of workflows/staging/formats.py.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
import zlib

import jsonschema
import numpy as np
import pytest

from tests.unit.staging import records as gen
from workflows import pipelines
from workflows.declarations import load_schema
from workflows.staging import readers
from workflows.staging.contract import compile_contract
from workflows.staging.rejects import RejectWriter

N = 10_000
ENTITIES = [(p.name, e) for p in pipelines.PIPELINES.values() for e in p.entities.values()]

# ── the documented formats, in plain Python ──
_DT = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?",
                 re.ASCII)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def _date_time(text: str, zone_allowed: bool) -> bool:
    m = _DT.fullmatch(text)
    if not m or (m.group(7) and not zone_allowed):
        return False
    y, mo, d, h, mi, s, zone = m.groups()
    try:
        dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        return False
    if zone and zone not in "Zz":
        digits = zone[1:].replace(":", "").ljust(4, "0")
        return int(digits[:2]) < 24 and int(digits[2:]) < 60
    return True


def _date(text: str) -> bool:
    m = _DATE.fullmatch(text)
    try:
        return bool(m) and dt.date(*map(int, m.groups())) is not None
    except ValueError:
        return False


def checker() -> jsonschema.FormatChecker:
    fc = jsonschema.FormatChecker(formats=())
    fc.checks("date-time")(lambda v: not isinstance(v, str) or _date_time(v, True))
    fc.checks("local-date-time")(lambda v: not isinstance(v, str) or _date_time(v, False))
    fc.checks("date")(lambda v: not isinstance(v, str) or _date(v))
    return fc


@functools.lru_cache(maxsize=None)
def generated(schema_path: str) -> list:
    """The 10,000 records of one schema (shared by the tests of that schema)."""
    return gen.records(load_schema(schema_path), N, seed=zlib.crc32(schema_path.encode()))


def jsonschema_verdicts(schema: dict, recs: list) -> np.ndarray:
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker())
    return np.array([validator.is_valid(r) for r in recs])


def _show(recs, engine, expected, limit=3) -> str:
    bad = np.flatnonzero(engine != expected)[:limit]
    return "; ".join(f"{json.dumps(recs[i], default=str)[:300]} engine={engine[i]} jsonschema={expected[i]}" for i in bad)


@pytest.mark.parametrize("pipeline,entity", ENTITIES, ids=[f"{p}.{e.name}" for p, e in ENTITIES])
def test_verdict_equals_jsonschema_on_records_and_jsonl(pipeline, entity, tmp_path):
    schema = load_schema(entity.schema)
    contract = compile_contract(entity.name, schema, entity.explode)
    recs = generated(entity.schema)
    expected = jsonschema_verdicts(schema, recs)
    assert 0.2 < expected.mean() < 0.9, "the generator makes both valid and invalid records"

    batch = readers.python_batch(recs, np.arange(1, N + 1), np.ones(N, np.int32), contract)
    codes, _ = contract.evaluate(batch.values, batch.root_object, batch.elements, batch.element_object, batch.parents)
    engine = codes == 0
    assert (engine == expected).all(), _show(recs, engine, expected)

    # the same records as JSON Lines, through the reader: the verdict per line is the same
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    verdict = np.zeros(N, dtype=bool)
    with RejectWriter(str(tmp_path / "rejects.jsonl"), {}) as writer:
        stats = readers.ReadStats()
        for batch in readers.read_jsonl(str(path), contract, writer, stats, 1 << 24):
            codes, _ = contract.evaluate(batch.values, batch.root_object, batch.elements, batch.element_object,
                                         batch.parents)
            verdict[batch.line[codes == 0] - 1] = True
    assert writer.count == 0 and stats.records == N
    assert (verdict == expected).all(), _show(recs, verdict, expected)


def csv_value(text: str | None, types: set[str]):
    """docs/staging.md: a CSV field as JSON — unquoted empty = null; a decimal number where numbers are
    allowed; t/f/true/false/1/0/y/n/yes/no where booleans are; else the text."""
    if text is None:
        return None
    if types & {"integer", "number"} and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text, re.ASCII):
        return int(text) if re.fullmatch(r"[+-]?\d+", text, re.ASCII) else float(text)
    if "boolean" in types and text.lower() in ("t", "true", "1", "y", "yes", "f", "false", "0", "n", "no"):
        return text.lower() in ("t", "true", "1", "y", "yes")
    return text


def as_text(value) -> str | None:
    if value is None or value is gen.ABSENT:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value) if not isinstance(value, float) else repr(value)


FLAT = [(p, e) for p, e in ENTITIES if e.format == "csv"]


@pytest.mark.parametrize("pipeline,entity", FLAT, ids=[f"{p}.{e.name}" for p, e in FLAT])
def test_verdict_equals_jsonschema_through_the_csv_reader(pipeline, entity, tmp_path):
    schema = load_schema(entity.schema)
    contract = compile_contract(entity.name, schema)
    fields = list(schema["properties"])
    types = {f: set([t] if isinstance(t := schema["properties"][f].get("type", []), str) else t) for f in fields}
    recs = generated(entity.schema)
    texts = [{f: as_text(r.get(f)) for f in fields} for r in recs]
    judged = [{f: csv_value(t[f], types[f]) for f in fields} for t in texts]
    expected = jsonschema_verdicts(schema, judged)

    buf = io.StringIO()
    writer_ = csv.writer(buf, lineterminator="\n")
    writer_.writerow(fields)
    index_of_line, line = {}, 2
    for i, t in enumerate(texts):  # NULL = an unquoted empty field; every text quoted, so '' stays ''
        row = ",".join("" if t[f] is None else '"' + t[f].replace('"', '""') + '"' for f in fields) + "\n"
        buf.write(row)
        index_of_line[line] = i
        line += row.count("\n")
    path = tmp_path / "records.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    verdict = np.zeros(N, dtype=bool)
    with RejectWriter(str(tmp_path / "rejects.jsonl"), {}) as writer:
        stats = readers.ReadStats()
        for batch in readers.read_csv(str(path), contract, writer, stats, 1 << 24):
            codes, _ = contract.evaluate(batch.values, batch.root_object)
            verdict[[index_of_line[int(n)] for n in batch.line[codes == 0]]] = True
    assert writer.count == 0 and stats.records == N
    assert (verdict == expected).all(), _show(judged, verdict, expected)
