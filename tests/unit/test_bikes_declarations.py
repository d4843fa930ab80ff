"""The bikes and library declarations hang together: schemas, SQL files and checks files exist and agree."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflows import checks
from workflows.pipelines import bikes, library

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = (bikes.PIPELINE, library.PIPELINE)


def schema_properties(entity) -> list[str]:
    return list(json.loads((ROOT / "schemas" / entity.schema).read_text())["properties"])


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_every_entity_has_a_schema_checks_and_its_sql(pipeline):
    for entity in pipeline.entities.values():
        assert [c.name for c in entity.columns] == schema_properties(entity)
        assert set(entity.key) <= set(schema_properties(entity))
        assert (ROOT / "schemas" / pipeline.name / f"{entity.name}.checks.json").is_file()
        if entity.merge_sql:
            assert (ROOT / "sql" / entity.merge_sql).is_file()
    for mart in pipeline.marts.values():
        text = (ROOT / "sql" / mart.sql).read_text()
        assert text.rstrip().endswith(";") and "%(ds)s" in text
        assert set(mart.entities) <= set(pipeline.entities)


def test_bikes_declares_the_18_tables_and_the_currency_api():
    assert len(bikes.TABLES) == 18 and len({t for _, t, _ in bikes.TABLES}) == 18
    assert set(bikes.PIPELINE.entities) == {n for n, _, _ in bikes.TABLES} | {"currency"}
    assert bikes.PIPELINE.entities["salesorderdetail"].key == ("salesorderid", "salesorderdetailid")
    # each table's staging merge names its own staging table
    for name, _, _ in bikes.TABLES:
        assert f"'staging.bikes_{name}'" in (ROOT / "sql" / "bikes" / "staging" / f"{name}.sql").read_text()


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_checks_parse_and_name_real_columns(pipeline):
    specs = checks.load_checks(ROOT / "schemas", pipeline.name, {n: e.key for n, e in pipeline.entities.items()})
    assert specs
    for spec in specs:
        if spec.table == f"staging.{pipeline.staging_table(spec.entity)}" and spec.type != "expression":
            columns = set(schema_properties(pipeline.entities[spec.entity])) | {"ds"}
            assert set(spec.columns) <= columns, (spec.entity, spec.name)
