"""A corpus of hostile records mixed into otherwise valid files at known lines, for every reader
(JSON Lines, CSV, database CSV, JSON envelope): each bad record is quarantined alone with the
expected rule, every good record is staged with its value, nothing raises.

The expected outcome of each case is written here by hand from the documented rules
(docs/rejects.md, docs/staging.md), not computed by the code under test.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflows.staging.contract import compile_contract
from workflows.staging.engine import StagedColumn as C
from workflows.staging.engine import StageSpec, stage
from workflows.staging.readers import SourceFileError

UTC = dt.timezone.utc
BIG = "x" * (2 << 20)  # a valid 2 MiB field
LIMIT = 4 << 20        # max_record_bytes in these tests

SCHEMA = {
    "type": "object",
    "required": ["id", "name", "at", "amount"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "maxLength": 3_000_000},
        "at": {"type": "string", "format": "date-time"},
        "amount": {"type": "number", "minimum": 0},
        "kind": {"type": ["string", "null"], "enum": ["a", "b", None]},
    },
}
COLUMNS = (C("line", pa.int64(), "$line"), C("id", pa.int64(), "id"), C("name", pa.string(), "name"),
           C("at", pa.timestamp("us", tz="UTC"), "at"), C("amount", pa.decimal128(18, 6), "amount"),
           C("kind", pa.string(), "kind"))


def spec(fmt: str, schema=SCHEMA, columns=COLUMNS, tz="Europe/Berlin", explode=None, **kw) -> StageSpec:
    return StageSpec("t", fmt, compile_contract("t", schema, explode), columns, timezone=tz,
                     max_record_bytes=LIMIT, **kw)


def run(tmp_path, fmt: str, data: bytes, **kw):
    raw = tmp_path / f"raw.{fmt}"
    raw.write_bytes(data)
    out, rej = tmp_path / "out.parquet", tmp_path / "rejects.jsonl"
    stats = stage(spec(fmt, **kw), str(raw), str(out), str(rej), {})
    staged = pq.read_table(out).to_pylist()
    rejects = [json.loads(x) for x in rej.read_text(encoding="utf-8").splitlines()]
    assert stats.staged == len(staged) and stats.quarantined == len(rejects)
    return staged, {r["line"]: r for r in rejects}, stats


def good(i: int, **over) -> dict:
    return {"id": i, "name": f"n{i}", "at": "2026-11-20T10:00:00Z", "amount": 1.5, "kind": "a", **over}


def line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


# ── JSON Lines: (raw line, expected rule or None = staged) ──────────────────────
JSONL_CASES = [
    (line(good(1)), None),
    (line(good(2, name="a\u0000b")), "unrepresentable"),                       # NUL in a string
    (b'{"id": 3, "name": "\\ud800", "at": "2026-11-20T10:00:00Z", "amount": 1}', "unrepresentable"),  # lone surrogate
    (b'{"id": 4, "name": "\xff\xfe", "at": "2026-11-20T10:00:00Z", "amount": 1}', "encoding"),       # not UTF-8
    (line(good(5)) + b"\r", None),                                               # CRLF
    (b'{"id": 6, "name": "x", "name": "y", "at": "2026-11-20T10:00:00Z", "amount": 1}', "json"),     # repeated field
    (b'{"id": 7, "name": "x", "at": "2026-11-20T10:00:00Z", "amount": NaN}', "json"),
    (b'{"id": 8, "name": "x", "at": "2026-11-20T10:00:00Z", "amount": Infinity}', "json"),
    (b'{"id": 9, "name": "x", "at": "2026-11-20T10:00:00Z", "amount": -Infinity}', "json"),
    (b'{"id": 10, "name": "x", "at": "2026-11-2', "json"),                      # truncated
    (line(good(2**70)), "unrepresentable"),                                     # beyond int64, the schema allows it
    (b'{"id": 12, "name": "x", "at": "2026-11-20T10:00:00Z", "amount": 1e400}', "unrepresentable"),
    (line(good(13, at="0000-01-01T00:00:00Z")), "format"),                      # there is no year 0
    (line(good(14, at="0001-01-01T00:30:00+01:00")), "unrepresentable"),        # before year 1 in UTC
    (line(good(15, at="2026-11-20 11:00:00")), None),                           # no zone: Europe/Berlin
    (line(good(16, name=BIG)), None),                                           # a 2 MiB field
    (line(good(17, name="y" * (LIMIT + 10))), "oversize"),
    (b"[1, 2, 3]", "type"),
    (b'"just a string"', "type"),
    (b"   ", None),                                                            # blank: not a record at all
    (b'{"id": 21, "name": "say \\u0022hi\\u0022", "at": "2026-11-20T10:00:00Z", "amount": 2}', None),
    (b'{"id": 22, "name": "\\u0022", "name": "\\u0022\\u0022", "at": "2026-11-20T10:00:00Z", "amount": 2}', "json"),
    (line(good(23, amount=True)), "type"),                                      # a boolean is not a number
    (line(good(24.0)), None),                                                   # 24.0 is an integer
    (line(good(25, **{"\u0000key": 1})), None),                                 # an unknown field: ignored
    (line(good(9223372036854775807)), None),                                    # int64 max, exact
    (line(good(-9223372036854775809)), "range"),                                # below the minimum of 1
    (b"[" * 100_000 + b"]" * 100_000, "json"),                                  # nesting deeper than any parser
    (line(good(29, name="bell\u0007")), None),                                  # other control characters are text
    (line(good(30, amount=-0.5)), "range"),
    (line(good(31, kind="c")), "enum"),
    (line({k: v for k, v in good(32).items() if k != "at"}), "required"),
    (line(good(33, at="2026-02-30T10:00:00Z")), "format"),
    (line(good(34, amount=1.1234567)), "unrepresentable"),                      # 7 decimals in decimal(18, 6)
    (b"\x00\x00\x00", "json"),                                                  # raw NUL bytes
    (line(good(36, kind=None)), None),
]


def test_jsonl_corpus(tmp_path):
    data = b"\xef\xbb\xbf" + b"\n".join(raw for raw, _ in JSONL_CASES) + b"\n"  # a BOM first
    staged, rejects, stats = run(tmp_path, "jsonl", data)
    expected_bad = {n: rule for n, (_, rule) in enumerate(JSONL_CASES, 1) if rule}
    assert {n: r["rule"] for n, r in rejects.items()} == expected_bad
    blank = {n for n, (raw, _) in enumerate(JSONL_CASES, 1) if not raw.strip()}
    assert [r["line"] for r in staged] == [n for n in range(1, len(JSONL_CASES) + 1)
                                           if n not in expected_bad and n not in blank]
    assert stats.records == len(JSONL_CASES) - len(blank)
    by_line = {r["line"]: r for r in staged}
    assert by_line[15]["at"] == dt.datetime(2026, 11, 20, 10, tzinfo=UTC)  # 11:00 in Berlin (CET)
    assert by_line[16]["name"] == BIG
    assert by_line[21]["name"] == 'say "hi"'
    assert by_line[24]["id"] == 24 and by_line[26]["id"] == 9223372036854775807
    assert by_line[29]["name"] == "bell\u0007" and by_line[36]["kind"] is None
    assert by_line[1]["amount"] == Decimal("1.5")
    assert all("\x00" not in (r["name"] or "") for r in staged)
    assert "appear more than once" in rejects[6]["reason"] and "NaN" in rejects[7]["reason"]
    assert rejects[17]["record"].startswith('{"id": 17') and len(rejects[17]["record"]) < 1000  # cut


# ── CSV ─────────────────────────────────────────────────────────────────────────
HEADER = b"id,name,at,amount,kind"
CSV_CASES = [  # (record text, expected rule or None, physical lines it spans)
    (b'1,n1,2026-11-20T10:00:00Z,1.5,a', None, 1),
    (b'2,"open quote,2026-11-20T10:00:00Z,1,a', "csv", 1),                     # unterminated quote: this line only
    (b'3,n3,2026-11-20T10:00:00Z,1,b', None, 1),
    (b'4,"two\nlines",2026-11-20T10:00:00Z,1,a', None, 2),                     # a legitimate quoted newline
    (b'5,\xff\xfe,2026-11-20T10:00:00Z,1,a', "encoding", 1),
    (b'6,a\x00b,2026-11-20T10:00:00Z,1,a', "unrepresentable", 1),              # a raw NUL byte
    (b'7,n7,2026-11-20T10:00:00Z', "csv", 1),                                  # too few fields
    (b'8,n8,2026-11-20T10:00:00Z,1,a,extra', "csv", 1),
    (b'9,' + BIG.encode() + b',2026-11-20T10:00:00Z,1,a', None, 1),           # 2 MiB field
    (b'99999999999999999999,n,2026-11-20T10:00:00Z,1,a', "unrepresentable", 1),
    (b'11,n11,2026-11-20T10:00:00Z,nan,a', "type", 1),                         # text, not a number
    (b'111,NULL,2026-11-20T10:00:00Z,1,NA', "enum", 1),                        # 'NULL' and 'NA' are text
    (b'12,,2026-11-20T10:00:00Z,1,a', "type", 1),                              # NULL name
    (b'13,"",2026-11-20T10:00:00Z,1,a', None, 1),                              # '' is not NULL
    (b'14,n14,2026-02-30T10:00:00Z,1,a', "format", 1),
    (b'', None, 0),                                                             # a blank line
    (b'16,n16,2026-11-20 11:00:00,1,', None, 1),                               # no zone; kind NULL
    (b'17,n17,2026-11-20T10:00:00Z,1.1234567,a', "unrepresentable", 1),
    (b'18,"say ""hi""",2026-11-20T10:00:00Z,2,b', None, 1),
    (b'19,n19,2026-11-20T10:00:00Z,-1,a', "range", 1),
    (b'20,n20,2026-11-20T10:00:00Z,1,z', "enum", 1),
    (b'21,n21,2026-11-20T10:00:00Z,1,a\r', None, 1),                           # CRLF
    (b'22,"a,""b"",\nc",2026-11-20T10:00:00Z,3,a', None, 2),
    (b'23,n23,"2026-11-20T10:00:00Z",4,"b"', None, 1),
    (b'24,n24,2026-11-20T10:00:00Z,1,"never closed', "csv", 1),               # open quote at the end of a line
    (b'25,n25,2026-11-20T10:00:00Z,1,a', None, 1),
]


def csv_file(cases) -> tuple[bytes, dict[int, tuple]]:
    lines, at, n = [b"\xef\xbb\xbf" + HEADER], {}, 2
    for text, rule, span in cases:
        lines.append(text)
        if span:
            at[n] = (text, rule)
        n += max(span, 1)
    return b"\n".join(lines) + b"\n", at


def test_csv_corpus(tmp_path):
    data, at = csv_file(CSV_CASES)
    staged, rejects, stats = run(tmp_path, "csv", data)
    assert {n: r["rule"] for n, r in rejects.items()} == {n: rule for n, (_, rule) in at.items() if rule}
    assert [r["line"] for r in staged] == [n for n, (_, rule) in sorted(at.items()) if rule is None]
    by_id = {r["id"]: r for r in staged}
    assert by_id[4]["name"] == "two\nlines" and by_id[22]["name"] == 'a,"b",\nc'
    assert by_id[9]["name"] == BIG and by_id[13]["name"] == "" and by_id[18]["name"] == 'say "hi"'
    assert by_id[16]["at"] == dt.datetime(2026, 11, 20, 10, tzinfo=UTC) and by_id[16]["kind"] is None
    assert by_id[21]["kind"] == "a" and by_id[3]["name"] == "n3" and by_id[25]["name"] == "n25"
    assert stats.staged_lines + stats.quarantined_lines == sum(s for _, _, s in CSV_CASES)


def test_csv_unterminated_quote_does_not_swallow_the_rest(tmp_path):
    body = [b'%d,n%d,2026-11-20T10:00:00Z,1,a' % (i, i) for i in range(1, 61)]
    body[9] = b'10,"broken,2026-11-20T10:00:00Z,1,a'
    data = HEADER + b"\n" + b"\n".join(body) + b"\n"
    staged, rejects, _ = run(tmp_path, "csv", data)
    assert list(rejects) == [11] and rejects[11]["rule"] == "csv"
    assert len(staged) == 59 and [r["id"] for r in staged] == [i for i in range(1, 61) if i != 10]


@pytest.mark.parametrize("data", [b"", HEADER + b"\n", HEADER], ids=["0-byte", "header-only", "header-no-newline"])
def test_empty_and_header_only_files_are_zero_records(tmp_path, data):
    staged, rejects, stats = run(tmp_path, "csv", data)
    assert staged == [] and rejects == {} and stats.records == 0


def test_a_repeated_header_column_fails_the_file_clearly(tmp_path):
    with pytest.raises(SourceFileError, match="repeats column"):
        run(tmp_path, "csv", b"id,name,name,at,amount\n1,a,b,2026-11-20T10:00:00Z,1\n")


def test_a_missing_required_column_fails_the_file_clearly(tmp_path):
    with pytest.raises(SourceFileError, match="lacks required column"):
        run(tmp_path, "csv", b"id,name,amount\n1,a,1\n")


# ── a database extract: COPY … CSV, with the contract's minimum and enum enforced ──
DB_SCHEMA = {"type": "object", "required": ["orderid", "qty", "status", "modified"],
             "properties": {"orderid": {"type": "integer"}, "qty": {"type": "integer", "minimum": 1},
                            "status": {"type": "integer", "enum": [1, 2, 5]}, "active": {"type": ["boolean", "null"]},
                            "modified": {"type": "string", "format": "local-date-time"}}}
DB_COLUMNS = (C("orderid", pa.int64(), "orderid"), C("qty", pa.int64(), "qty"), C("status", pa.int64(), "status"),
              C("active", pa.bool_(), "active"), C("modified", pa.timestamp("us"), "modified"))


def test_database_csv_enforces_minimum_and_enum(tmp_path):
    data = (b"orderid,qty,status,active,modified\n"
            b"1,2,5,t,2026-11-20 10:00:00.5\n"
            b"2,0,5,f,2026-11-20 10:00:00\n"          # qty below the minimum
            b"3,1,4,,2026-11-20 10:00:00\n"           # status not in the enum
            b"4,1,1,maybe,2026-11-20 10:00:00\n"      # not a boolean
            b"5,1,2,t,2026-11-20 10:00:00+02\n"       # a zone on a local timestamp
            b"1,3,5,t,2026-11-20 11:00:00\n")         # the key again: first wins
    staged, rejects, _ = run(tmp_path, "csv", data, schema=DB_SCHEMA, columns=DB_COLUMNS, key=("orderid",),
                             duplicates="first")
    assert {n: r["rule"] for n, r in rejects.items()} == {3: "range", 4: "enum", 5: "type", 6: "format",
                                                          7: "duplicate_key"}
    assert rejects[7]["winner_line"] == 2
    assert staged == [{"orderid": 1, "qty": 2, "status": 5, "active": True,
                       "modified": dt.datetime(2026, 11, 20, 10, 0, 0, 500000)}]


# ── the JSON envelope (an HTTP answer), with an exploded array ──────────────────
NESTED = {"type": "object", "required": ["id", "lines"],
          "properties": {"id": {"type": "integer"}, "who": {"type": "string"},
                         "lines": {"type": "array", "items": {"type": "object", "required": ["sku", "qty"],
                                                              "properties": {"sku": {"type": "integer"},
                                                                             "qty": {"type": "integer",
                                                                                     "minimum": 1}}}}}}
NESTED_COLUMNS = (C("id", pa.int64(), "id"), C("who", pa.string(), "who"), C("sku", pa.int64(), "item.sku"),
                  C("qty", pa.int64(), "item.qty"))


def test_envelope_corpus(tmp_path):
    records = [
        '{"id": 1, "who": "a", "lines": [{"sku": 1, "qty": 2}, {"sku": 2, "qty": 1}]}',
        '{"id": 2, "who": "b", "who": "c", "lines": [{"sku": 1, "qty": 1}]}',           # a repeated field
        '{"id": 3, "who": "d", "lines": [{"sku": 1, "qty": NaN}]}',                      # NaN
        '{"id": 4, "who": "\\ud83d", "lines": [{"sku": 1, "qty": 1}]}',                  # a lone surrogate
        '"not an object"',
        '{"id": 6, "who": "e", "lines": [{"sku": 1, "qty": 1}, {"sku": 2, "qty": 0}, {"sku": 3, "qty": 1}]}',
        '{"id": 7, "who": "nul\\u0000", "lines": [{"sku": 9, "qty": 1}]}',
        '{"id": 8, "who": "f", "lines": [{"sku": 4, "qty": 3}]}',
    ]
    data = ('{"meta": {}, "records": [' + ",\n".join(records) + "]}").encode()
    staged, rejects, stats = run(tmp_path, "json", data, schema=NESTED, columns=NESTED_COLUMNS, explode="lines")
    assert {n: r["rule"] for n, r in rejects.items()} == {2: "json", 3: "json", 4: "unrepresentable", 5: "type",
                                                          6: "range", 7: "unrepresentable"}
    assert rejects[6]["units"] == 3  # the whole record goes, with all its items
    assert [(r["id"], r["sku"], r["qty"]) for r in staged] == [(1, 1, 2), (1, 2, 1), (8, 4, 3)]
    assert stats.records == 8


def test_csv_words_like_null_are_text_not_null(tmp_path):
    staged, rejects, _ = run(tmp_path, "csv", HEADER + b"\n1,NULL,2026-11-20T10:00:00Z,1,\n2,nan,2026-11-20T10:00:00Z,1,\n")
    assert [r["name"] for r in staged] == ["NULL", "nan"] and not rejects
