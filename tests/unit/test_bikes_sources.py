"""Staging of landed database extracts (CSV) and of the currency API's JSON lines, on tiny inline files."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflows.pipelines import bikes, library
from workflows.sources import database

MEMBERS = library.PIPELINE.entities["members"]
DS = dt.date(2026, 11, 20)
HEADER = "member_id,full_name,email,city,joined_at,is_active,updated_at,extra_col\n"


def stage(entity, tmp_path, text: str):
    raw, out = tmp_path / "raw.csv", tmp_path / "out.parquet"
    raw.write_text(text, encoding="utf-8")
    rows, rejects = entity.stager(entity, str(raw), str(out), DS)
    return rows, rejects, pq.read_table(out)


def test_contract_maps_json_schema_types_to_arrow():
    spec = {name: (arrow, nullable) for name, arrow, nullable, _ in database.contract("bikes/salesorderheader.json")}
    assert spec["salesorderid"] == (pa.int64(), False)
    assert spec["orderdate"] == (pa.timestamp("us"), False)
    assert spec["shipdate"] == (pa.timestamp("us"), True)
    assert spec["onlineorderflag"] == (pa.bool_(), False)
    assert spec["subtotal"] == (pa.decimal128(38, 6), False)
    assert spec["comment"] == (pa.string(), True)
    assert database.contract("library/members.json")[4][1] == pa.timestamp("us", tz="UTC")


def test_csv_rows_are_typed_and_nulls_kept_apart_from_empty_strings(tmp_path):
    text = HEADER + (
        '1,Ana Silva,ana@example.org,,2026-01-02 03:04:05.5+00,t,2026-11-20 10:00:00+00,x\n'
        '2,"Bruno ""B"" Costa",bruno@example.org,"",2025-12-31 23:59:59+00,f,2026-11-20 11:00:00+00,y\n'
    )
    rows, rejects, table = stage(MEMBERS, tmp_path, text)
    assert (rows, rejects) == (2, [])
    assert table.schema.names == ["member_id", "full_name", "email", "city", "joined_at", "is_active", "updated_at"]
    got = table.to_pylist()
    assert got[0]["city"] is None and got[1]["city"] == ""
    assert got[1]["full_name"] == 'Bruno "B" Costa'
    assert got[0]["joined_at"] == dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=dt.timezone.utc)
    assert [r["is_active"] for r in got] == [True, False]


def test_broken_rows_are_quarantined_with_rule_reason_and_line(tmp_path):
    text = HEADER + (
        '1,Ana,ana@example.org,Faro,2026-01-02 00:00:00+00,t,2026-11-20 10:00:00+00,\n'          # line 2: ok
        '2,"Two\nLines",two@example.org,Faro,2026-01-02 00:00:00+00,t,2026-11-20 10:00:00+00,\n'  # lines 3-4: ok
        '3,Eva,,Faro,2026-01-02 00:00:00+00,maybe,2026-11-20 10:00:00+00,\n'                     # line 5: 2 faults
        '4,Hugo,hugo@example.org,Faro,yesterday,t,2026-11-20 10:00:00+00,\n'                     # line 6: bad time
        '1,Ana again,ana2@example.org,Faro,2026-01-02 00:00:00+00,t,2026-11-20 12:00:00+00,\n'   # line 7: dup key
        '5,Duarte,duarte@example.org,Porto,2026-01-02 00:00:00+00,f,2026-11-20 13:00:00+00,\n'   # line 8: ok
    )
    rows, rejects, table = stage(MEMBERS, tmp_path, text)
    assert rows == 3 and table.column("member_id").to_pylist() == [1, 2, 5]
    assert table.column("full_name").to_pylist()[1] == "Two\nLines"
    by_line = {r["line"]: r for r in rejects}
    assert set(by_line) == {5, 6, 7}
    assert by_line[5]["rule"] == "not_null"  # the first broken column's rule; the reason names every fault
    assert "email = None is NULL" in by_line[5]["reason"] and "is_active = 'maybe' is not a valid bool" in by_line[5]["reason"]
    assert by_line[6]["rule"] == "parse" and "joined_at = 'yesterday'" in by_line[6]["reason"]
    assert by_line[7]["rule"] == "duplicate_key" and by_line[7]["record"]["full_name"] == "Ana again"
    assert all(r["record"]["member_id"] in ("3", "4", 1) for r in rejects)


def test_missing_column_or_malformed_csv_is_a_clear_error(tmp_path):
    with pytest.raises(database.SourceError, match="source columns missing: email"):
        stage(MEMBERS, tmp_path, "member_id,full_name,city,joined_at,is_active,updated_at\n")
    with pytest.raises(database.SourceError, match="malformed CSV"):
        stage(MEMBERS, tmp_path, HEADER + "1,Ana,a@x,Faro,2026-01-02 00:00:00+00,t,2026-11-20 10:00:00+00,,,\n")


def test_decimals_keep_their_digits(tmp_path):
    entity = bikes.PIPELINE.entities["salesorderdetail"]
    header = ",".join(c.name for c in entity.columns) + "\n"
    line = "43659,1,4911-403C-98,3,776,1,2024.9940,0.0000,6074.982000,2026-11-20 00:00:00\n"
    rows, rejects, table = stage(entity, tmp_path, header + line + line.replace("43659,1,", "43659,2,", 1))
    assert (rows, rejects) == (2, [])
    assert table.column("unitprice").to_pylist() == [Decimal("2024.994")] * 2
    assert table.column("linetotal").to_pylist() == [Decimal("6074.982")] * 2


def test_too_long_text_is_quarantined_not_left_to_fail_the_load(tmp_path):
    entity = bikes.PIPELINE.entities["salesreason"]  # name varchar(50)
    text = "salesreasonid,name,reasontype,modifieddate\n1,Price,Other,2026-11-20 00:00:00\n" \
           f"2,{'x' * 51},Other,2026-11-20 00:00:00\n"
    rows, rejects, _ = stage(entity, tmp_path, text)
    assert rows == 1
    assert [(r["rule"], r["line"]) for r in rejects] == [("max_length", 3)]
    assert "is longer than 50" in rejects[0]["reason"]


def test_currency_lines_are_staged_against_the_schema(tmp_path):
    lines = [
        {"currencycode": "EUR", "name": "EURO", "modifieddate": "2008-04-30T00:00:00"},
        {"currencycode": "eu", "name": "Euro (legacy)", "modifieddate": "2008-04-30T00:00:00"},
        {"currencycode": "EUR", "name": "EURO again", "modifieddate": "2008-04-30T00:00:00"},
    ]
    text = "\n".join(json.dumps(r) for r in lines[:2]) + "\n{not json\n" + json.dumps(lines[2]) + "\n"
    rows, rejects, table = stage(bikes.CURRENCY, tmp_path, text)
    assert rows == 1 and table.to_pylist() == [
        {"currencycode": "EUR", "name": "EURO", "modifieddate": dt.datetime(2008, 4, 30)}]
    assert sorted((r["line"], r["rule"]) for r in rejects) == [(2, "schema"), (3, "parse"), (4, "duplicate_key")]
