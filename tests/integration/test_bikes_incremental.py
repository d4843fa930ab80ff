"""Incremental bikes extracts that miss nothing (issue 15, docs/incremental.md), on the generated
AdventureWorks-shaped source, the in-process currency API and the embedded PostgreSQL.

A five-day scenario: the generator's inserts, updates, cancelled orders and checked-out carts (hard
deletes), plus the test's own changes — a customer and a product created on D1 and deleted on D3, a
store row committed on D2 but stamped D1 (inside the one-day look-back), and product cost changes on
D2 and D3. After each day the warehouse is compared with a model kept here from the source read with
plain SQL: staging's live rows equal the source table by table and its flagged rows are exactly the
keys seen once and gone since; fact_order has every live source line; deleted dimension members are
closed. Then a full build (``[bikes] full_refresh``) repairs dimension rows an incremental build never
rewrites, dim_date included; re-running every day changes nothing. Out of order, the D2 cost change
arrives after D3's: no product key is renumbered and every fact points to the version valid at its
order date (computed here from the prices the source had each day).
"""
from __future__ import annotations

import datetime as dt

import luigi
import pytest
from psycopg2.extensions import make_dsn, parse_dsn

from tests.conftest import luigi_settings
from tests.integration.test_bikes_pipeline import SOURCE_TABLES, checksums, query, source_columns, table_rows
from workflows.demo import bikes_oltp
from workflows.pipelines.bikes import PIPELINE
from workflows.tasks.publish import published
from workflows.tasks.stage import Stage

DAYS = [dt.date(2026, 11, 17) + dt.timedelta(days=n) for n in range(5)]
CUSTOMER, PRODUCT = 990001, 990          # created by the test on D1, deleted on D3
RECOSTED = "productid %% 3 = 0"           # products whose cost the test changes on D2 and D3


def at(day: dt.date, hours: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hours)


def run(tasks) -> None:
    result = luigi.build(tasks, local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text


def stages(ds: dt.date) -> list:
    return [Stage(date=ds, pipeline="bikes", entity=e) for e in PIPELINE.entities]


def key_sql(name: str) -> str:
    return ", ".join(PIPELINE.entities[name].key)


class Scenario:
    """The source's days (the generator's plus the test's changes) and the model of the warehouse."""

    def __init__(self, warehouse: str):
        self.warehouse = warehouse
        self.source = make_dsn(warehouse, dbname=f"{parse_dsn(warehouse)['dbname']}_bikes_oltp")
        self.seen: dict[str, set] = {name: set() for name in SOURCE_TABLES}   # keys an extract has seen
        self.prices: dict[dt.date, dict[int, tuple]] = {}                     # the source's products each day
        self.late_store = None

    def advance(self, ds: dt.date) -> None:
        """Bring the source to day ds, apply the test's changes of that day, then note what an extract sees."""
        bikes_oltp.ensure(self.warehouse, 7, 1, ds)
        s = self.source
        if ds == DAYS[1]:
            query(s, "INSERT INTO person.person (businessentityid, persontype, firstname, lastname, modifieddate) "
                     "VALUES (%s, 'IN', 'Short', 'Lived', %s)", (CUSTOMER, at(ds, 7)))
            query(s, "INSERT INTO sales.customer (customerid, personid, territoryid, modifieddate) VALUES (%s, %s, 1, %s)",
                  (CUSTOMER, CUSTOMER, at(ds, 7)))
            query(s, "INSERT INTO production.product (productid, name, productnumber, safetystocklevel, reorderpoint, "
                     "standardcost, listprice, daystomanufacture, sellstartdate, modifieddate) "
                     "VALUES (%s, 'Never Sold', 'NS-0990', 4, 3, 10, 20, 0, %s, %s)", (PRODUCT, at(ds, 7), at(ds, 7)))
        if ds == DAYS[2]:
            # committed today, stamped yesterday after yesterday's extract: inside the one-day look-back
            self.late_store = query(s, "UPDATE sales.store SET name = left(name, 40) || ' (late)', modifieddate = %s "
                                       "WHERE businessentityid = (SELECT min(businessentityid) FROM sales.store "
                                       "WHERE modifieddate < %s) RETURNING businessentityid",
                                    (at(ds, -0.5), DAYS[1]))[0][0]
            query(s, f"UPDATE production.product SET standardcost = round(standardcost * 1.05, 4), modifieddate = %s "
                     f"WHERE {RECOSTED}", (at(ds, 10),))
        if ds == DAYS[3]:
            query(s, "DELETE FROM sales.customer WHERE customerid = %s", (CUSTOMER,))
            query(s, "DELETE FROM person.person WHERE businessentityid = %s", (CUSTOMER,))
            query(s, "DELETE FROM production.product WHERE productid = %s", (PRODUCT,))
            query(s, f"UPDATE production.product SET standardcost = round(standardcost * 1.02, 4), modifieddate = %s "
                     f"WHERE {RECOSTED}", (at(ds, 12),))
        for name, table in SOURCE_TABLES.items():
            self.seen[name] |= set(query(s, f"SELECT {key_sql(name)} FROM {table}"))
        self.prices[ds] = {p: (lp, sc, m) for p, lp, sc, m in query(
            s, "SELECT productid, listprice, standardcost, modifieddate FROM production.product")}

    # ── the model ──────────────────────────────────────────────────────────
    def deleted(self, name: str) -> set:
        return self.seen[name] - set(query(self.source, f"SELECT {key_sql(name)} FROM {SOURCE_TABLES[name]}"))

    def versions(self) -> dict[int, list[tuple]]:
        """Each product's (price, cost, changed at) versions, from the prices the source had day by day."""
        history: dict[int, list[tuple]] = {}
        for ds in sorted(self.prices):
            for product, (price, cost, changed_at) in self.prices[ds].items():
                seen = history.setdefault(product, [])
                if not seen or seen[-1][:2] != (price, cost):
                    seen.append((price, cost, changed_at))
        return history

    def product_keys(self) -> dict:
        """dim_product's keys and what each names: the product and the start and prices of its version."""
        return {k: rest for k, *rest in query(self.warehouse, "SELECT product_key, product_id, valid_from, list_price, "
                                                             "standard_cost FROM bikes.dim_product WHERE product_key <> -1")}

    # ── the comparison ─────────────────────────────────────────────────────
    def assert_equal(self, when, tampered_store=None) -> None:
        w, s = self.warehouse, self.source
        for name, table in SOURCE_TABLES.items():
            cols = source_columns(s, table)
            assert table_rows(w, f"staging.bikes_{name}", cols, "deleted_at IS NULL") == table_rows(s, table, cols), \
                (when, name)
            flagged = set(query(w, f"SELECT {key_sql(name)} FROM staging.bikes_{name} WHERE deleted_at IS NOT NULL"))
            assert flagged == self.deleted(name), (when, name)
        # facts: every live source line and reason link, the header amounts over the lines that remain
        lines = query(s, "SELECT salesorderid, salesorderdetailid, orderqty, unitprice, linetotal FROM sales.salesorderdetail")
        assert sorted(query(w, "SELECT sales_order_id, sales_order_detail_id, order_qty, unit_price, line_total "
                               "FROM bikes.fact_order")) == sorted(lines), when
        headers = dict((o, (st, t, f)) for o, st, t, f in query(
            s, "SELECT salesorderid, subtotal, taxamt, freight FROM sales.salesorderheader "
               "WHERE salesorderid IN (SELECT salesorderid FROM sales.salesorderdetail)"))
        assert dict((o, (st, t, f)) for o, st, t, f in query(
            w, "SELECT sales_order_id, sum(subtotal_allocated), sum(tax_allocated), sum(freight_allocated) "
               "FROM bikes.fact_order GROUP BY 1")) == headers, when
        assert sorted(query(w, "SELECT sales_order_id, sales_reason_id FROM bikes.fact_order_reason")) == \
            sorted(query(s, "SELECT salesorderid, salesreasonid FROM sales.salesorderheadersalesreason")), when
        # dimensions: live members current, deleted ones closed (never removed)
        customers = {c: (current, gone) for c, current, gone in query(
            w, "SELECT customer_id, is_current, deleted_at IS NOT NULL FROM bikes.dim_customer WHERE customer_key <> -1")}
        live = {c for (c,) in query(s, "SELECT customerid FROM sales.customer")}
        gone = {c for (c,) in self.deleted("customer")}
        assert customers == {**{c: (True, False) for c in live}, **{c: (False, True) for c in gone}}, when
        stores = dict(query(w, "SELECT store_id, name FROM bikes.dim_store WHERE store_key <> -1 AND is_current"))
        source_stores = dict(query(s, "SELECT businessentityid, name FROM sales.store"))
        if tampered_store is not None:
            assert stores.pop(tampered_store) == "Tampered" and source_stores.pop(tampered_store) != "Tampered"
        assert stores == source_stores, when
        current = dict(((p, (lp, sc)) for p, lp, sc in query(
            w, "SELECT product_id, list_price, standard_cost FROM bikes.dim_product WHERE is_current AND product_key <> -1")))
        assert current == {p: (lp, sc) for p, lp, sc, _ in query(
            s, "SELECT productid, listprice, standardcost, modifieddate FROM production.product")}, when
        for (product,) in self.deleted("product"):
            closed = query(w, "SELECT d.valid_to, d.deleted_at, d.is_current FROM bikes.dim_product AS d "
                              "WHERE d.product_id = %s ORDER BY d.valid_from DESC LIMIT 1", (product,))
            assert closed and closed[0][0] == closed[0][1] and closed[0][0] < dt.datetime(9999, 1, 1) \
                and not closed[0][2], (when, product)

    def assert_facts_point_to_the_version_valid_at_their_date(self) -> int:
        """Every line's product version is the one whose price the source had at the order date; returns
        how many lines point to a version of a product the test re-costed (the late change's readers)."""
        history = self.versions()
        facts = {(o, d): (p, lp, sc, vf) for o, d, p, lp, sc, vf in query(
            self.warehouse, "SELECT f.sales_order_id, f.sales_order_detail_id, p.product_id, p.list_price, "
                            "p.standard_cost, p.valid_from FROM bikes.fact_order f JOIN bikes.dim_product p USING (product_key)")}
        lines = query(self.source, "SELECT d.salesorderid, d.salesorderdetailid, d.productid, h.orderdate "
                                   "FROM sales.salesorderdetail d JOIN sales.salesorderheader h USING (salesorderid)")
        assert len(facts) == len(lines)
        recosted = 0
        for order, line, product, ordered_at in lines:
            versions = history[product]
            price, cost, start = next(((p, c, t) for p, c, t in reversed(versions[1:]) if t <= ordered_at), versions[0])
            got = facts[(order, line)]
            assert got[:3] == (product, price, cost), (order, line, got, versions)
            if start != versions[0][2]:
                assert got[3] == start, (order, line)
            recosted += start == at(DAYS[2], 10)
        return recosted


def calendar(dates) -> list[tuple]:
    """dim_date rows computed here, with Python's calendar."""
    return [(int(d.strftime("%Y%m%d")), d, d.year, (d.month - 1) // 3 + 1, d.month, d.strftime("%B"), d.day,
             d.isoweekday(), d.strftime("%A"), d.isocalendar()[1], d.isoweekday() >= 6) for d in dates]


def dim_date(dsn: str) -> list[tuple]:
    return query(dsn, "SELECT date_key, date, year, quarter, month, month_name, day_of_month, day_of_week, day_name, "
                      "week_of_year, is_weekend FROM bikes.dim_date WHERE date_key <> -1 ORDER BY date")


@pytest.fixture
def bikes_env(env):
    with luigi_settings({"bikes": {"source_dsn": "", "currency_url": ""}}):
        yield env


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_five_days_in_date_order_then_a_full_build_then_rerun_equal_the_model(bikes_env):
    env = bikes_env
    sc = Scenario(env.dsn)
    tampered = None
    for ds in DAYS:
        sc.advance(ds)
        with luigi_settings({"bikes": {"full_refresh": "true"}} if ds == DAYS[4] else {}):
            run(published(PIPELINE, ds))
        sc.assert_equal(ds, tampered_store=tampered if ds == DAYS[3] else None)
        if ds == DAYS[2]:
            # rows an incremental build never rewrites: an existing day of the calendar, an unchanged store
            tampered = query(env.dsn, "SELECT min(businessentityid) FROM staging.bikes_store "
                                      "WHERE modifieddate < %s AND businessentityid <> %s", (DAYS[0], sc.late_store))[0][0]
            query(env.dsn, "UPDATE bikes.dim_store SET name = 'Tampered' WHERE store_id = %s", (tampered,))
            first = query(env.dsn, "SELECT min(date) FROM bikes.dim_date WHERE date_key <> -1")[0][0]
            query(env.dsn, "UPDATE bikes.dim_date SET day_name = 'Tampered', is_weekend = NOT is_weekend WHERE date = %s",
                  (first,))
        if ds == DAYS[3]:  # the incremental D3 left both as they were
            assert query(env.dsn, "SELECT day_name FROM bikes.dim_date WHERE date = %s", (first,)) == [("Tampered",)]
    # the full build of D4 repaired both (the store did not change in the source since D0)
    assert query(sc.source, "SELECT modifieddate < %s FROM sales.store WHERE businessentityid = %s",
                 (DAYS[0], tampered)) == [(True,)]
    dates = [d for (_, d, *_) in dim_date(env.dsn)]
    assert dates == [dates[0] + dt.timedelta(days=n) for n in range((dates[-1] - dates[0]).days + 1)]
    assert dim_date(env.dsn) == calendar(dates)
    order_dates = {d.date() for (d,) in query(sc.source, "SELECT unnest(ARRAY[orderdate, duedate, shipdate]) "
                                                         "FROM sales.salesorderheader") if d is not None}
    assert order_dates <= set(dates) and DAYS[4] in dates

    # what the scenario exercised really happened
    assert sc.deleted("salesorderheader") and sc.deleted("salesorderdetail") and sc.deleted("shoppingcartitem")
    assert sc.deleted("customer") == {(CUSTOMER,)} and sc.deleted("product") == {(PRODUCT,)}
    loads = {(e, d): (m, r) for e, d, m, r in env.query(
        "SELECT entity, ds, mode, reason FROM etl.source_loads WHERE pipeline = 'bikes'")}
    for name in SOURCE_TABLES:
        assert [loads[(name, d)] for d in DAYS] == [("full", "initial")] + [("incremental", "incremental")] * 3 + [
            ("full", "full_refresh")], name
    assert env.query("SELECT window_from::date FROM etl.source_loads WHERE pipeline = 'bikes' AND entity = 'store' "
                     "AND ds = %s", (DAYS[2],)) == [(DAYS[1],)]  # the late store row came through the look-back
    assert sc.assert_facts_point_to_the_version_valid_at_their_date() > 0

    # re-run every day's Stage, Load and Mart from the landed files, newest first: nothing changes
    final = checksums(env.dsn)
    env.query("DELETE FROM etl.partition_markers WHERE target LIKE '%%/bikes/%%' AND target NOT LIKE 'extract/%%'")
    env.query("DELETE FROM etl.dq_decisions WHERE pipeline = 'bikes'")
    for ds in reversed(DAYS):
        run(published(PIPELINE, ds))
    assert checksums(env.dsn) == final


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_days_extracted_as_they_happen_published_out_of_order_keep_every_product_key(bikes_env):
    env = bikes_env
    sc = Scenario(env.dsn)
    for ds in DAYS:  # each day is extracted on its day, after its changes ...
        sc.advance(ds)
        run(stages(ds))
    for ds in DAYS[:2] + [DAYS[3]]:  # ... and published D0, D1, D3: the D2 cost change is not in yet
        run(published(PIPELINE, ds))
    before = sc.product_keys()
    late = query(env.dsn, "SELECT count(*) FROM bikes.dim_product WHERE valid_from = %s", (at(DAYS[2], 10),))
    assert late == [(0,)]
    for ds in (DAYS[2], DAYS[4]):  # the late change arrives
        run(published(PIPELINE, ds))
    after = sc.product_keys()
    late = {k for (k,) in query(env.dsn, "SELECT product_key FROM bikes.dim_product WHERE valid_from = %s",
                                (at(DAYS[2], 10),))}
    # no key renumbered: every key still names the same version; the late versions got new keys
    assert {k: after.get(k) for k in before} == before
    assert late and late <= set(after) - set(before)
    sc.assert_equal("out of order")
    assert sc.assert_facts_point_to_the_version_valid_at_their_date() > 0
