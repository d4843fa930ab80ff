"""A new pipeline is a declaration: one defined only in this test — two entities (a JSON Lines drop
and a CSV drop), their JSON Schemas, a DDL statement and a mart SQL file — runs end to end through
the generic tasks (land, stage, load, mart, checks, report) with no code of its own.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import luigi
import pyarrow as pa
import pytest

from tests.conftest import luigi_settings
from workflows import RunAll, pipelines, warehouse
from workflows.config import Source
from workflows.declarations import LINE, Column, Drop, Entity, Lookup, Mart, Pipeline

DS = dt.date(2026, 11, 20)
pytestmark = pytest.mark.parametrize("env", ["local", "s3"], indirect=True)


class shop(Source):  # noqa: N801 - the test pipeline's settings section [shop]
    pass


DDL = """
CREATE TABLE IF NOT EXISTS staging.shop_stores (ds date NOT NULL, store_id bigint, city text);
CREATE TABLE IF NOT EXISTS staging.shop_visits (ds date NOT NULL, line bigint, store_id bigint, visitor text,
                                                 visited_at timestamptz, basket numeric(12, 2));
CREATE TABLE IF NOT EXISTS mart.shop_daily (ds date, city text, visits bigint, visitors bigint, basket numeric(14, 2),
                                            PRIMARY KEY (ds, city));
"""
MART = """
DELETE FROM mart.shop_daily WHERE ds = %(ds)s;
INSERT INTO mart.shop_daily (ds, city, visits, visitors, basket)
SELECT v.ds, s.city, count(*), count(DISTINCT v.visitor), sum(v.basket)
  FROM staging.shop_visits v JOIN staging.shop_stores s ON s.store_id = v.store_id AND s.ds = v.ds
 WHERE v.ds = %(ds)s
 GROUP BY v.ds, s.city;
SELECT count(*) FROM mart.shop_daily WHERE ds = %(ds)s;
"""


@pytest.fixture
def declared(env, tmp_path):
    """The pipeline: schemas and SQL in a folder of its own, drops in a landing folder."""
    home, landing = tmp_path / "shop", tmp_path / "landing"
    home.mkdir()
    landing.mkdir()
    (home / "stores.json").write_text(json.dumps({
        "type": "object", "required": ["store_id", "city"],
        "properties": {"store_id": {"type": "integer", "minimum": 1}, "city": {"type": "string", "minLength": 1}}}))
    (home / "visits.json").write_text(json.dumps({
        "type": "object", "required": ["store", "visitor", "at", "basket"],
        "properties": {"store": {"type": "integer"}, "visitor": {"type": "string", "pattern": "^v[0-9]+$"},
                       "at": {"type": "string", "format": "date-time"},
                       "basket": {"type": "number", "minimum": 0, "maximum": 10000}}}))
    (home / "mart_shop_daily.sql").write_text(MART)
    stores = Entity("stores", str(home / "stores.json"), Drop("stores_{yyyymmdd}.csv"), key=("store_id",),
                    duplicates="first", columns=(Column("store_id", pa.int64(), "store_id"),
                                                 Column("city", pa.string(), "city")))
    visits = Entity("visits", str(home / "visits.json"), Drop("visits_{yyyymmdd}.jsonl"),
                    lookups=(Lookup("store_id", "stores", "store_id"),),
                    columns=(Column("line", pa.int64(), LINE), Column("store_id", pa.int64(), "store"),
                             Column("visitor", pa.string(), "visitor"),
                             Column("visited_at", pa.timestamp("us", tz="UTC"), "at"),
                             Column("basket", pa.decimal128(12, 2), "basket")))
    pipeline = Pipeline("shop", {"stores": stores, "visits": visits},
                        {"shop_daily": Mart("shop_daily", str(home / "mart_shop_daily.sql"), ("visits", "stores"))},
                        settings=shop, drops=lambda: str(landing))
    warehouse.connect().close()  # the project's DDL first (schemas staging, mart, etl)
    env.query(DDL)
    pipelines.PIPELINES["shop"] = pipeline
    try:
        with luigi_settings({"runall": {"pipelines": '["shop"]'}, "shop": {"timezone": "America/New_York"}}):
            yield env, landing
    finally:
        del pipelines.PIPELINES["shop"]


def test_a_pipeline_declared_only_in_a_test_runs_end_to_end(declared):
    env, landing = declared
    (landing / f"stores_{DS:%Y%m%d}.csv").write_text("store_id,city\n1,Lyon\n2,Porto\n2,Porto again\n0,Nowhere\n")
    visits = [
        {"store": 1, "visitor": "v1", "at": "2026-11-20T09:00:00", "basket": 10.5},
        {"store": 1, "visitor": "v2", "at": "2026-11-20T09:30:00-05:00", "basket": 4},
        {"store": 2, "visitor": "v1", "at": "2026-11-20 18:00:00Z", "basket": 0},
        {"store": 3, "visitor": "v3", "at": "2026-11-20T10:00:00Z", "basket": 1},     # unknown store
        {"store": 1, "visitor": "w9", "at": "2026-11-20T10:00:00Z", "basket": 1},     # pattern
        {"store": 2, "visitor": "v4", "at": "2026-11-20T10:00:00Z", "basket": 20000},  # range
        {"store": 2, "visitor": "v5", "at": "2026-11-20T10:00:00Z", "basket": 7.25},
    ]
    (landing / f"visits_{DS:%Y%m%d}.jsonl").write_text("\n".join(map(json.dumps, visits)) + "\n")
    result = luigi.build([RunAll(date=DS)], local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text

    quarantine = [json.loads(x) for x in env.read_lake(f"quarantine/shop/visits/ds={DS}/rejects.jsonl").splitlines()]
    assert sorted((r["line"], r["rule"]) for r in quarantine) == [(4, "lookup"), (5, "pattern"), (6, "range")]
    stores = [json.loads(x) for x in env.read_lake(f"quarantine/shop/stores/ds={DS}/rejects.jsonl").splitlines()]
    assert sorted((r["line"], r["rule"]) for r in stores) == [(4, "duplicate_key"), (5, "range")]
    staged = env.query("SELECT line, visited_at FROM staging.shop_visits WHERE ds = %s ORDER BY line", (DS,))
    utc = dt.timezone.utc
    assert staged == [(1, dt.datetime(2026, 11, 20, 14, tzinfo=utc)),   # no zone: New York (EST, UTC-5)
                      (2, dt.datetime(2026, 11, 20, 14, 30, tzinfo=utc)),
                      (3, dt.datetime(2026, 11, 20, 18, tzinfo=utc)),
                      (7, dt.datetime(2026, 11, 20, 10, tzinfo=utc))]
    # the mart, recomputed here from the accepted visits and stores
    city = {1: "Lyon", 2: "Porto"}
    kept = [visits[i] for i in (0, 1, 2, 6)]
    expected = {}
    for c in set(city.values()):
        rows = [v for v in kept if city[v["store"]] == c]
        expected[c] = (len(rows), len({v["visitor"] for v in rows}), sum(round(v["basket"] * 100) for v in rows))
    got = env.query("SELECT city, visits, visitors, basket FROM mart.shop_daily WHERE ds = %s", (DS,))
    assert {c: (n, u, int(b * 100)) for c, n, u, b in got} == expected
    checks = Counter(s for (s,) in env.query("SELECT status FROM etl.dq_results WHERE pipeline = 'shop'"))
    assert checks["pass"] >= 4 and not checks["fail"] and not checks["error"]
    assert env.read_lake(f"reports/dq/ds={DS}/dq_report_{DS}.xlsx")[:2] == b"PK"
