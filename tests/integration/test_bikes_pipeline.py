"""bikes end to end on the embedded PostgreSQL: a generated AdventureWorks-shaped source database,
the in-process currency API on 127.0.0.1, a local lake.

One module-scoped run: a first (full) load on D0, then three incremental days. After each day the
source and the warehouse are read back here with SQL written in this file, and the tests compare
them: staging mirrors the source table by table, fact_order has every source order line, the
product versions follow the prices the source had on each day, and so on.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid

import luigi
import luigi.execution_summary
import psycopg2
import pytest

from tests.conftest import luigi_settings
from workflows.demo import currency_server
from workflows.tasks.publish import published
from workflows.pipelines.bikes import PIPELINE
from workflows.tasks.check import Check

DAYS = [dt.date(2026, 11, 17) + dt.timedelta(days=n) for n in range(4)]
SOURCE_TABLES = {  # staging.bikes_<name> ← source table
    "person": "person.person", "employee": "humanresources.employee", "product": "production.product",
    "shipmethod": "purchasing.shipmethod", "currencyrate": "sales.currencyrate",
    "salesreason": "sales.salesreason", "salesterritory": "sales.salesterritory",
    "specialoffer": "sales.specialoffer", "salesperson": "sales.salesperson", "store": "sales.store",
    "customer": "sales.customer", "specialofferproduct": "sales.specialofferproduct",
    "salespersonquotahistory": "sales.salespersonquotahistory",
    "salesterritoryhistory": "sales.salesterritoryhistory", "shoppingcartitem": "sales.shoppingcartitem",
    "salesorderheader": "sales.salesorderheader", "salesorderdetail": "sales.salesorderdetail",
    "salesorderheadersalesreason": "sales.salesorderheadersalesreason",
}
WAREHOUSE_TABLES = [f"staging.bikes_{n}" for n in [*SOURCE_TABLES, "currency", "product_history"]] + [
    f"bikes.{m}" for m in PIPELINE.marts]


def query(dsn: str, statement: str, params=None) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def build(tasks) -> luigi.execution_summary.LuigiRunResult:
    result = luigi.build(tasks, local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def day_tasks(ds: dt.date) -> list:
    return published(PIPELINE, ds)


def table_rows(dsn: str, table: str, columns: list[str], where: str = "true") -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return query(dsn, f"SELECT {cols} FROM {table} WHERE {where} ORDER BY {cols}")


def source_columns(dsn: str, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in query(dsn, "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                                     "AND table_name = %s ORDER BY ordinal_position", (schema, name))]


def checksums(dsn: str) -> dict[str, tuple]:
    return {t: query(dsn, f"SELECT count(*), md5(coalesce(string_agg(x, '|' ORDER BY x), '')) "
                          f"FROM (SELECT t::text AS x FROM {t} AS t) s")[0] for t in WAREHOUSE_TABLES}


class Run:
    """What the module run saw after each day: source and warehouse, read independently."""

    def __init__(self, dsn: str, source: str, lake):
        self.dsn, self.source, self.lake = dsn, source, lake
        self.tables: dict[dt.date, dict[str, tuple[list, list]]] = {}
        self.products: dict[dt.date, dict[int, tuple]] = {}
        self.window_counts: dict[dt.date, dict[str, int]] = {}

    def snapshot(self, ds: dt.date) -> None:
        self.tables[ds] = {}
        self.window_counts[ds] = {}
        for name, table in SOURCE_TABLES.items():
            cols = source_columns(self.source, table)
            self.tables[ds][name] = (table_rows(self.source, table, cols),
                                     table_rows(self.dsn, f"staging.bikes_{name}", cols, "deleted_at IS NULL"))
            # an incremental extract reads [ds - lag, ds + 1): [incremental] lag_days = 1 by default
            since = ds - dt.timedelta(days=1) if ds != DAYS[0] else dt.date(1900, 1, 1)
            self.window_counts[ds][name] = query(
                self.source, f"SELECT count(*) FROM {table} WHERE modifieddate >= %s AND modifieddate < %s",
                (since, ds + dt.timedelta(days=1)))[0][0]
        self.products[ds] = {p: (lp, sc, at) for p, lp, sc, at in query(
            self.source, "SELECT productid, listprice, standardcost, modifieddate FROM production.product")}

    def meta(self, entity: str, ds: dt.date) -> dict:
        return json.loads((self.lake / f"raw/bikes/{entity}/ds={ds}/{entity}.csv.meta.json").read_text())


@pytest.fixture(scope="module")
def run(pg_server, tmp_path_factory):
    name = f"t_{uuid.uuid4().hex[:12]}"
    with contextlib.closing(psycopg2.connect(pg_server.get_uri())) as admin:
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
    dsn, lake = pg_server.get_uri(name), tmp_path_factory.mktemp("bikes") / "lake"
    settings = {"warehouse": {"dsn": dsn}, "lake": {"root": str(lake)}, "demo": {"seed": "7", "size": "1"},
                "bikes": {"source_dsn": "", "currency_url": ""}}
    with luigi_settings(settings):
        r = Run(dsn, pg_server.get_uri(f"{name}_bikes_oltp"), lake)
        for ds in DAYS:
            build(day_tasks(ds))
            r.snapshot(ds)
        yield r


def test_full_load_then_incremental_days_equal_the_source(run):
    for ds in DAYS:
        for name, (source_rows, staging_rows) in run.tables[ds].items():
            assert source_rows, (ds, name)
            assert staging_rows == source_rows, f"staging.bikes_{name} differs from the source after {ds}"
            meta = run.meta(name, ds)
            assert meta["mode"] == ("full" if ds == DAYS[0] else "incremental")
            assert meta["record_count"] == run.window_counts[ds][name], (ds, name)
            assert meta["fields"] == source_columns(run.source, SOURCE_TABLES[name])
    # incremental days carried inserts and updates: rows changed on D1 that existed before D1
    changed = {n: c for n, c in run.window_counts[DAYS[1]].items() if c}
    assert {"salesorderheader", "salesorderdetail", "product", "customer", "person", "store"} <= set(changed)
    assert query(run.source, "SELECT count(*) FROM sales.salesorderheader WHERE status = 5 AND shipdate >= %s "
                             "AND orderdate < %s", (DAYS[1], DAYS[1]))[0][0] > 0
    # the currency API: every well-formed record staged, the defective one quarantined with its line
    valid = {r["currencycode"]: r["name"] for r in currency_server.currencies() if r["currencycode"].isupper()}
    assert dict(query(run.dsn, "SELECT currencycode, name FROM staging.bikes_currency")) == valid
    rejects = [json.loads(line) for line in
               (run.lake / f"quarantine/bikes/currency/ds={DAYS[0]}/rejects.jsonl").read_text().splitlines()]
    assert [(r["rule"], r["line"], r["record"]["currencycode"]) for r in rejects] == [
        ("pattern", len(currency_server.currencies()), "eu")]


def test_fact_order_has_every_source_line_with_header_amounts_allocated(run):
    lines = query(run.source, "SELECT salesorderid, salesorderdetailid, orderqty, unitprice, unitpricediscount, "
                              "linetotal FROM sales.salesorderdetail")
    facts = query(run.dsn, "SELECT sales_order_id, sales_order_detail_id, order_qty, unit_price, "
                           "unit_price_discount, line_total FROM bikes.fact_order")
    assert sorted(facts) == sorted(lines) and len(lines) > 500
    headers = {o: (s, t, f) for o, s, t, f in query(
        run.source, "SELECT salesorderid, subtotal, taxamt, freight FROM sales.salesorderheader")}
    allocated = {o: (s, t, f) for o, s, t, f in query(
        run.dsn, "SELECT sales_order_id, sum(subtotal_allocated), sum(tax_allocated), sum(freight_allocated) "
                 "FROM bikes.fact_order GROUP BY 1")}
    assert allocated == headers
    # timestamps are the source's, not the build's
    stamps = dict(query(run.source, "SELECT (d.salesorderid, d.salesorderdetailid)::text, "
                                    "greatest(d.modifieddate, h.modifieddate) FROM sales.salesorderdetail d "
                                    "JOIN sales.salesorderheader h USING (salesorderid)"))
    assert dict(query(run.dsn, "SELECT (sales_order_id, sales_order_detail_id)::text, modified_at "
                               "FROM bikes.fact_order")) == stamps
    # every reason link of the source is in fact_order_reason
    assert sorted(query(run.source, "SELECT salesorderid, salesreasonid FROM sales.salesorderheadersalesreason")) \
        == sorted(query(run.dsn, "SELECT sales_order_id, sales_reason_key FROM bikes.fact_order_reason"))


def test_order_without_sales_person_is_kept_with_the_unknown_member(run):
    expected = {(o, d): sp if sp is not None else -1 for o, d, sp in query(
        run.source, "SELECT d.salesorderid, d.salesorderdetailid, h.salespersonid FROM sales.salesorderdetail d "
                    "JOIN sales.salesorderheader h USING (salesorderid)")}
    got = {(o, d): k for o, d, k in query(
        run.dsn, "SELECT sales_order_id, sales_order_detail_id, sales_person_key FROM bikes.fact_order")}
    assert got == expected
    assert sum(k == -1 for k in got.values()) > 0 and sum(k != -1 for k in got.values()) > 0
    assert query(run.dsn, "SELECT full_name FROM bikes.dim_sales_person WHERE sales_person_key = -1") == [("Unknown",)]
    # and an order without a currency rate is in USD, with one the rate's currency
    currency = {o: c for o, c in query(run.source, "SELECT h.salesorderid, coalesce(r.tocurrencycode, 'USD') "
                                                   "FROM sales.salesorderheader h LEFT JOIN sales.currencyrate r "
                                                   "USING (currencyrateid)")}
    assert dict(query(run.dsn, "SELECT DISTINCT sales_order_id, currency_key FROM bikes.fact_order")) == currency


def test_price_change_makes_a_new_product_version_and_old_orders_keep_theirs(run):
    # the (list price, standard cost) history each product went through, as seen day by day
    history: dict[int, list[tuple]] = {}
    for ds in DAYS:
        for product, (price, cost, at) in run.products[ds].items():
            versions = history.setdefault(product, [])
            if not versions or versions[-1][:2] != (price, cost):
                versions.append((price, cost, at))
    repriced = {p for p, v in history.items() if len(v) > 1}
    assert len(repriced) >= 2  # the generator re-prices one product a day
    dims = query(run.dsn, "SELECT product_id, list_price, standard_cost, valid_from, valid_to, is_current "
                          "FROM bikes.dim_product WHERE product_key <> -1 ORDER BY product_id, valid_from")
    got: dict[int, list[tuple]] = {}
    for product, price, cost, valid_from, valid_to, current in dims:
        got.setdefault(product, []).append((price, cost, valid_from, valid_to, current))
    for product, versions in history.items():
        assert [(p, c) for p, c, *_ in got[product]] == [(p, c) for p, c, _ in versions], product
        assert [v[4] for v in got[product]] == [False] * (len(versions) - 1) + [True]
        for (_, _, start, *_), (_, _, changed_at) in zip(got[product][1:], versions[1:]):
            assert start == changed_at  # a version starts when the source changed the price
        for older, newer in zip(got[product], got[product][1:]):
            assert older[3] == newer[2]

    # each order line points at the version whose price was current at its order date
    lines = query(run.source, "SELECT d.salesorderid, d.salesorderdetailid, d.productid, h.orderdate "
                              "FROM sales.salesorderdetail d JOIN sales.salesorderheader h USING (salesorderid)")
    fact = {(o, d): (p, lp) for o, d, p, lp in query(
        run.dsn, "SELECT f.sales_order_id, f.sales_order_detail_id, p.product_id, p.list_price "
                 "FROM bikes.fact_order f JOIN bikes.dim_product p USING (product_key)")}
    old_lines = 0
    for order, line, product, ordered_at in lines:
        versions = history[product]
        price = next((p for p, _, at in reversed(versions[1:]) if at <= ordered_at), versions[0][0])
        assert fact[(order, line)] == (product, price)
        old_lines += product in repriced and price != versions[-1][0]
    assert old_lines > 0  # some orders of re-priced products keep the old version


def test_checks_of_the_pipeline_pass(run):
    with luigi_settings({}):
        build([Check(date=DAYS[-1], pipeline="bikes")])
    statuses = query(run.dsn, "SELECT status, count(*) FROM etl.dq_results WHERE pipeline = 'bikes' AND ds = %s "
                              "GROUP BY status", (DAYS[-1],))
    assert dict(statuses).keys() <= {"pass", "warn"} and dict(statuses)["pass"] > 100


def test_rerunning_any_day_changes_nothing(run):
    before = checksums(run.dsn)
    assert before["bikes.fact_order"][0] > 0
    # D1: every Load and Mart again; D2: from the source again (raw files gone); D3: the latest day
    for ds, refetch in ((DAYS[1], False), (DAYS[2], True), (DAYS[3], False)):
        # without refetch the landed raw files and their extract markers stay: only the rest is redone
        query(run.dsn, "DELETE FROM etl.partition_markers WHERE ds = %s AND (%s OR target NOT LIKE 'extract/%%') "
                       "RETURNING 1", (ds, refetch))
        if refetch:
            for path in run.lake.glob(f"*/bikes/*/ds={ds}/*"):
                path.unlink()
        result = build(day_tasks(ds))
        ran = {t.get_task_family() for t in luigi.execution_summary._partition_tasks(result.worker)["completed"]}
        assert "Mart" in ran and "Load" in ran and ("Extract" in ran) == refetch
        assert checksums(run.dsn) == before, ds
