"""Check declarations: where a check may be declared, the default gates, what a sample shows."""
from __future__ import annotations

import pytest

from workflows.pipelines import bikes, content, fakestore
from workflows.quality import checks as C
from workflows.quality import declared
from workflows.quality.gates import default_gates


def names(specs) -> dict[str, C.CheckSpec]:
    return {s.name: s for s in specs}


def test_every_entity_gets_the_default_gates_by_its_load_mode_and_source():
    carts = names(C.parse_checks("fakestore", "carts", {"checks": []}, defaults=default_gates(fakestore.CARTS)))
    assert set(carts) == {"volume_staged_when_raw", "quarantine_share", "reconciliation_raw_vs_staged",
                          "reconciliation_parquet_vs_table", "volume_raw_present", "volume_vs_history"}
    assert carts["volume_staged_when_raw"].severity == "error" and carts["volume_raw_present"].severity == "warn"
    assert all(s.default for s in carts.values())
    # a merge entity: the Parquet-vs-table count would compare the file with itself; its keys are checked instead
    gam = names(declared.entity_specs(content.PIPELINE, "gam_delivery"))
    assert "reconciliation_parquet_vs_table" not in gam
    assert gam["reconciliation_parquet_keys_in_table"].options["key"] == list(content.GAM_DELIVERY.key)
    ga4 = names(declared.entity_specs(content.PIPELINE, "ga4_events"))  # its key (row_hash) is staged: checked too
    assert ga4["reconciliation_parquet_keys_in_table"].options["key"] == ["row_hash"]
    assert not {"reconciliation_parquet_vs_table", "unique_row_hash"} & set(ga4)
    # an incremental database extract: an empty day is normal, no volume warnings by default
    product = names(declared.entity_specs(bikes.PIPELINE, "product"))
    assert not {"volume_raw_present", "volume_vs_history"} & set(product) and "quarantine_share" in product


def test_a_declared_check_with_a_default_name_replaces_it_and_enabled_false_drops_it():
    doc = {"checks": [{"type": "volume", "rule": "raw_present", "severity": "error"},
                      {"type": "quarantine_share", "max": 0.1, "enabled": False}]}
    specs = names(C.parse_checks("fakestore", "carts", doc, defaults=default_gates(fakestore.CARTS)))
    assert specs["volume_raw_present"].severity == "error" and not specs["volume_raw_present"].default
    assert "quarantine_share" not in specs


def test_an_entity_check_reading_a_mart_is_refused_with_where_it_belongs():
    doc = {"checks": [{"type": "not_null", "table": "mart.fact_sales", "columns": ["unit_price"]}]}
    with pytest.raises(C.CheckDeclarationError, match=r"declare it beside the mart \(sql/fakestore/<mart>.checks.json\)"):
        C.parse_checks("fakestore", "carts", doc, "carts.checks.json")
    doc = {"checks": [{"type": "reconciliation", "between": "staging_vs_mart", "table": "mart.fact_sales"}]}
    with pytest.raises(C.CheckDeclarationError, match="between' must be one of"):
        C.parse_checks("fakestore", "carts", doc, "carts.checks.json")


def test_lake_side_checks_are_refused_beside_a_mart():
    with pytest.raises(C.CheckDeclarationError, match="declare it beside the entity"):
        C.parse_checks("fakestore", "fact_sales", {"checks": [{"type": "quarantine_share"}]}, step="mart")


def test_mart_checks_default_to_the_files_table_and_samples_show_key_then_checked_columns():
    doc = {"table": "bikes.fact_order", "checks": [
        {"type": "not_null", "columns": ["customer_key"], "key": ["sales_order_id"]},
        {"type": "relationships", "column": "product_key", "to_table": "bikes.dim_product", "to_column": "product_key"}]}
    specs = C.parse_checks("bikes", "fact_order", doc, step="mart")
    assert [s.table for s in specs] == ["bikes.fact_order"] * 2 and {s.layer for s in specs} == {"mart"}
    assert specs[0].shown == ("sales_order_id", "customer_key")
    assert specs[1].shown == ("product_key",)
    sql_text = repr(C.row_check_query(specs[0], "2026-11-20")[0])
    assert "customer_key" in sql_text and "sales_order_id" in sql_text


def test_the_repo_declarations_parse_and_mart_checks_sit_beside_their_sql():
    from workflows import pipelines

    for p in pipelines.PIPELINES.values():
        for e in p.entities:
            assert all(s.step == "audit" for s in declared.entity_specs(p, e))
        for m in p.marts:
            path = declared.mart_checks_path(p, m)
            assert path.parent.name == p.name and path.name.endswith(".checks.json")
            assert all(s.step == "mart" for s in declared.mart_specs(p, m))
    assert declared.mart_reads(fakestore.PIPELINE, "fact_sales") == ["dim_product", "dim_user"]
    assert declared.audit_reads(content.PIPELINE, "ga4_events") == ["cms_articles"]
