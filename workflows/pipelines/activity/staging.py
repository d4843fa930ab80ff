"""Stage a JSONL drop: line -> strict JSON -> schema -> typed row -> Parquet record batches; bad lines -> rejects.

Streamed: one line in memory at a time plus one batch of ``[activity] batch_rows``
rows, written with pyarrow's ParquetWriter. Every non-blank line ends up either
staged or rejected with its rule, reason and line number (rules: ``encoding``,
``json``, ``schema``, ``parse``, ``duplicate_key``). A quarantined ``record`` is the
parsed object with user_id pseudonymised and ip_address masked, or, for a line
that is not JSON, its text (truncated, those values blanked); the raw file keeps
the original under the same line number. The output is rewritten whole on a re-run.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from workflows.declarations import Entity, load_schema, validator
from workflows.pipelines.activity import jsonl
from workflows.pipelines.activity.settings import activity, pseudonym_key
from workflows.pipelines.activity.transforms import RowError, mask_ip, pseudonym, response_class, utc_micros
from workflows.pipelines.activity.validation import prefilter, schema_error

TEXT_LIMIT = 300
_PERSONAL_IN_TEXT = re.compile(r'("(?:user_id|ip_address)"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]*)')

RowBuilder = Callable[[dict, bytes], tuple]


def activity_row(rec: dict, key: bytes) -> tuple:
    """user_pseudo_id, session_id, page_url, action, device_type, occurred_at, user_agent, ip_address_masked."""
    ip = rec.get("ip_address")
    return (pseudonym(rec["user_id"], key), rec["session_id"], rec["page_url"], rec["action"], rec["device_type"],
            utc_micros(rec["timestamp"]), rec.get("user_agent"), None if ip is None else mask_ip(ip))


def api_row(rec: dict, key: bytes) -> tuple:
    """request_id, endpoint, method, status_code, response_class, response_time_ms, requested_at, user_pseudo_id."""
    status = int(rec["status_code"])
    return (rec["request_id"], rec["endpoint"], rec["method"], status, response_class(status),
            float(rec["response_time"]), utc_micros(rec["timestamp"]), pseudonym(rec["user_id"], key))


def redact(record: Any, key: bytes) -> Any:
    """A quarantined record without personal data: user_id pseudonymised, ip_address masked."""
    if type(record) is not dict:
        return record
    out = dict(record)
    for field, protect in (("user_id", lambda v: pseudonym(v, key)), ("ip_address", mask_ip)):
        if out.get(field) is not None:
            try:
                out[field] = protect(out[field])
            except (RowError, TypeError, ValueError):
                out[field] = "<redacted>"
    return out


def redact_text(text: str) -> str:
    """A line that is not JSON, truncated, with any user_id / ip_address value blanked."""
    return _PERSONAL_IN_TEXT.sub(r'\1"<redacted>"', text)[:TEXT_LIMIT]


def _batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows))
    return pa.RecordBatch.from_arrays([pa.array(col, f.type) for col, f in zip(columns, schema)], schema=schema)


def stage_jsonl(
    entity: Entity, raw_path: str, parquet_path: str, ds: dt.date, *, build_row: RowBuilder, unique: str | None = None
) -> tuple[int, list[dict]]:
    """The ``stager`` hook: raw JSONL -> Parquet at ``parquet_path``. Returns (rows staged, rejects).

    ``build_row`` maps a schema-valid record to the row after ``line_no``; ``unique``
    names a field whose repeats (after the first staged line) are rejected.
    """

    cfg, key = activity(), pseudonym_key()
    batch_rows = max(1, cfg.batch_rows)
    check = validator(entity.schema)
    quick = prefilter(load_schema(entity.schema)) if cfg.validation == "fast" else (lambda record: False)
    schema = entity.arrow_schema()
    rows: list[tuple] = []
    rejects: list[dict] = []
    seen: set = set()
    staged = 0

    def reject(rule: str, reason: str, line_no: int, record: Any = None, text: bytes | None = None) -> None:
        shown = redact_text(text.decode("utf-8", "replace")) if text is not None else redact(record, key)
        rejects.append({"rule": rule, "reason": reason, "line": line_no, "record": shown})

    with pq.ParquetWriter(parquet_path, schema, compression="zstd") as writer:
        for line_no, line in jsonl.records(raw_path):
            try:
                record = jsonl.decode(line)
            except UnicodeDecodeError as exc:
                reject("encoding", f"not UTF-8: {exc.reason} at byte {exc.start + 1}", line_no, text=line)
                continue
            except json.JSONDecodeError as exc:
                reject("json", f"not JSON: {exc.msg} (column {exc.colno})", line_no, text=line)
                continue
            except ValueError as exc:  # NaN / Infinity
                reject("json", f"not JSON: {exc}", line_no, text=line)
                continue
            if not quick(record):
                reason = schema_error(check, record)
                if reason is not None:
                    reject("schema", reason, line_no, record)
                    continue
            try:
                row = (line_no, *build_row(record, key))
            except RowError as exc:
                reject(exc.rule, exc.reason, line_no, record)
                continue
            if unique is not None:
                value = record[unique]
                if value in seen:
                    reject("duplicate_key", f"duplicate {unique} {value!r}: an earlier line was staged", line_no, record)
                    continue
                seen.add(value)
            rows.append(row)
            if len(rows) >= batch_rows:
                writer.write_batch(_batch(rows, schema))
                staged += len(rows)
                rows.clear()
        if rows:
            writer.write_batch(_batch(rows, schema))
            staged += len(rows)
    return staged, rejects
