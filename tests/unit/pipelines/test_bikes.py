"""The bikes and library declarations hang together (schemas, SQL, checks), and bikes extracts and the
currency API stage against their schemas, on tiny inline files."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from tests.unit.pipelines.helpers import envelope, stage
from workflows.declarations import schema_columns
from workflows.pipelines import bikes, library
from workflows.quality import checks
from workflows.resources import SCHEMAS, SQL

PIPELINES = (bikes.PIPELINE, library.PIPELINE)


def schema_properties(entity) -> list[str]:
    return list(json.loads(SCHEMAS.joinpath(entity.schema).read_text())["properties"])


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_every_entity_has_a_schema_checks_and_its_sql(pipeline):
    for entity in pipeline.entities.values():
        assert [c.name for c in entity.columns] == schema_properties(entity)
        assert set(entity.key) <= set(schema_properties(entity))
        assert SCHEMAS.joinpath(pipeline.name, f"{entity.name}.checks.json").is_file()
        if entity.merge_sql:
            assert SQL.joinpath(entity.merge_sql).is_file()
    for mart in pipeline.marts.values():
        text = SQL.joinpath(mart.sql).read_text()
        assert text.rstrip().endswith(";") and "%(ds)s" in text
        assert set(mart.entities) <= set(pipeline.entities)


def test_bikes_declares_the_18_tables_and_the_currency_api():
    assert len(bikes.TABLES) == 18 and len({t for _, t, _ in bikes.TABLES}) == 18
    assert set(bikes.PIPELINE.entities) == {n for n, _, _ in bikes.TABLES} | {"currency"}
    assert bikes.PIPELINE.entities["salesorderdetail"].key == ("salesorderid", "salesorderdetailid")
    # each table's staging merge names its own staging table
    for name, _, _ in bikes.TABLES:
        assert f"'staging.bikes_{name}'" in SQL.joinpath("bikes", "staging", f"{name}.sql").read_text()


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_checks_parse_and_name_real_columns(pipeline):
    specs = checks.load_checks(Path(str(SCHEMAS)), pipeline.name, {n: e.key for n, e in pipeline.entities.items()})
    assert specs
    for spec in specs:
        if spec.table == f"staging.{pipeline.staging_table(spec.entity)}" and spec.type != "expression":
            columns = set(schema_properties(pipeline.entities[spec.entity])) | {"ds"}
            assert set(spec.columns) <= columns, (spec.entity, spec.name)


def test_schema_columns_map_json_schema_types_to_arrow():
    """(Was database.contract: (name, arrow type, nullable); nullability now lives in the contract.)"""
    types = {c.name: c.type for c in schema_columns("bikes/salesorderheader.json")}
    assert types["salesorderid"] == pa.int64()
    assert types["orderdate"] == types["shipdate"] == pa.timestamp("us")
    assert types["onlineorderflag"] == pa.bool_()
    assert types["subtotal"] == pa.decimal128(38, 6)
    assert types["comment"] == pa.string()
    contract = bikes.PIPELINE.entities["salesorderheader"].contract()
    nullable = {r.path[0]: "null" in r.json_types for r in contract.rules}
    assert {name: nullable[name] for name in types if name in (
        "salesorderid", "orderdate", "shipdate", "onlineorderflag", "subtotal", "comment")} == {
        "salesorderid": False, "orderdate": False, "shipdate": True, "onlineorderflag": False, "subtotal": False,
        "comment": True}
    assert schema_columns("library/members.json")[4].type == pa.timestamp("us", tz="UTC")


def test_decimals_keep_their_digits(tmp_path):
    entity = bikes.PIPELINE.entities["salesorderdetail"]
    header = ",".join(c.name for c in entity.columns) + "\n"
    line = "43659,1,4911-403C-98,3,776,1,2024.9940,0.0000,6074.982000,2026-11-20 00:00:00\n"
    rows, rejects, _ = stage(entity, tmp_path, header + line + line.replace("43659,1,", "43659,2,", 1))
    assert (len(rows), rejects) == (2, [])
    assert [r["unitprice"] for r in rows] == [Decimal("2024.994")] * 2
    assert [r["linetotal"] for r in rows] == [Decimal("6074.982")] * 2
    assert rows[0]["modifieddate"] == dt.datetime(2026, 11, 20)


def test_too_long_text_is_quarantined_not_left_to_fail_the_load(tmp_path):
    entity = bikes.PIPELINE.entities["salesreason"]  # name varchar(50)
    text = "salesreasonid,name,reasontype,modifieddate\n1,Price,Other,2026-11-20 00:00:00\n" \
           f"2,{'x' * 51},Other,2026-11-20 00:00:00\n"
    rows, rejects, _ = stage(entity, tmp_path, text)
    assert len(rows) == 1
    assert [(r["rule"], r["line"]) for r in rejects] == [("length", 3)]  # was 'max_length'
    assert rejects[0]["reason"] == f"$.name: {'x' * 51!r} is too long"  # jsonschema's words (was "is longer than 50")


def test_currency_records_are_staged_against_the_schema(tmp_path):
    # the currency API lands as a JSON envelope now (was JSON lines); a record's line is its position
    records = [
        {"currencycode": "EUR", "name": "EURO", "modifieddate": "2008-04-30T00:00:00"},
        {"currencycode": "eu", "name": "Euro (legacy)", "modifieddate": "2008-04-30T00:00:00"},
        {"currencycode": "EUR", "name": "EURO again", "modifieddate": "2008-04-30T00:00:00"},
    ]
    text = envelope(records[:2])[:-2] + ', {"currencycode": "USD", "name": NaN, "modifieddate": "2008-04-30T00:00:00"}, ' \
        + json.dumps(records[2]) + "]}"  # record 3: a NaN is not JSON (was a line "{not json")
    rows, rejects, _ = stage(bikes.CURRENCY, tmp_path, text)
    assert rows == [{"currencycode": "EUR", "name": "EURO", "modifieddate": dt.datetime(2008, 4, 30)}]
    # rules by keyword and the one JSON rule (were schema / parse / duplicate_key)
    assert [(r["line"], r["rule"]) for r in rejects] == [(2, "pattern"), (3, "json"), (4, "duplicate_key")]
