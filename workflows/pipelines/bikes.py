"""bikes: an AdventureWorks-shaped OLTP database (18 tables) and a currency JSON API -> staging
mirrors upserted on each table's key -> a star schema in schema ``bikes``.

Extract is one task per table (parallel under ``--workers N``), each reading ``[ds - lag, ds + 1)``
by modifieddate (every row on the table's claimed first load or with ``[bikes] full_refresh``:
docs/incremental.md), so updates and late commits within the lag are caught as well as inserts.
Every table declares key-snapshot deletes: its keys land beside the rows, and a staged row whose key
is gone is flagged ``deleted_at``; the marts remove its facts and close its dimension members. The
currency API is landed whole every day (a JSON envelope, like any HTTP source). Marts: ``bikes.dim_*``
(``dim_product`` type 2 on list price and standard cost, with keys that never change once assigned),
``bikes.fact_order`` (order line) and ``bikes.fact_order_reason``; a day whose extract was a full load
rebuilds every member of the marts reading it, ``dim_date`` included.
"""
from __future__ import annotations

import datetime as dt

from workflows import warehouse
from workflows.config import bikes, demo
from workflows.declarations import Entity, Http, Mart, Pipeline, schema_columns, table_entity
from workflows.demo import bikes_oltp, currency_server

NAME = "bikes"


# ── the source tables: entity name, source table, key (composite where AdventureWorks has it) ──
TABLES = (
    ("person", "person.person", ("businessentityid",)),
    ("employee", "humanresources.employee", ("businessentityid",)),
    ("product", "production.product", ("productid",)),
    ("shipmethod", "purchasing.shipmethod", ("shipmethodid",)),
    ("currencyrate", "sales.currencyrate", ("currencyrateid",)),
    ("salesreason", "sales.salesreason", ("salesreasonid",)),
    ("salesterritory", "sales.salesterritory", ("territoryid",)),
    ("specialoffer", "sales.specialoffer", ("specialofferid",)),
    ("salesperson", "sales.salesperson", ("businessentityid",)),
    ("store", "sales.store", ("businessentityid",)),
    ("customer", "sales.customer", ("customerid",)),
    ("specialofferproduct", "sales.specialofferproduct", ("specialofferid", "productid")),
    ("salespersonquotahistory", "sales.salespersonquotahistory", ("businessentityid", "quotadate")),
    ("salesterritoryhistory", "sales.salesterritoryhistory", ("businessentityid", "startdate", "territoryid")),
    ("shoppingcartitem", "sales.shoppingcartitem", ("shoppingcartitemid",)),
    ("salesorderheader", "sales.salesorderheader", ("salesorderid",)),
    ("salesorderdetail", "sales.salesorderdetail", ("salesorderid", "salesorderdetailid")),
    ("salesorderheadersalesreason", "sales.salesorderheadersalesreason", ("salesorderid", "salesreasonid")),
)

# every source table's deletes are seen by a snapshot of its keys (docs/incremental.md)
DELETES = "snapshot"

# ── the star: mart name, staging entities its SQL (sql/bikes/<name>.sql) reads ──
MARTS = (
    ("dim_date", ("salesorderheader",)),
    ("dim_customer", ("customer", "person", "store")),
    ("dim_product", ("product",)),
    ("dim_sales_person", ("salesperson", "employee", "person")),
    ("dim_sales_territory", ("salesterritory",)),
    ("dim_store", ("store",)),
    ("dim_ship_method", ("shipmethod",)),
    ("dim_special_offer", ("specialoffer",)),
    ("dim_sales_reason", ("salesreason",)),
    ("dim_currency", ("currency",)),
    ("fact_order", ("salesorderdetail", "salesorderheader", "product", "customer", "salesperson",
                    "salesterritory", "shipmethod", "currencyrate", "currency", "specialoffer")),
    ("fact_order_reason", ("salesorderheadersalesreason", "salesorderheader", "salesreason", "customer")),
)


# ── hooks ──────────────────────────────────────────────────────────────────────

def source_dsn(ds: dt.date) -> str:
    """The configured source, or the generated one brought up to ds."""
    configured = bikes().source_dsn.strip()
    return configured or bikes_oltp.ensure(warehouse.dsn(), demo().seed, demo().size, ds)


def currency_base(ds: dt.date) -> str:
    """``[bikes] currency_url``, or the in-process currency API."""
    return bikes().currency_url.strip() or currency_server.base_url()


CURRENCY = Entity(
    name="currency", schema="bikes/currency.json", source=Http("/currencies"),
    columns=schema_columns("bikes/currency.json"), key=("currencycode",), duplicates="first",
    merge_sql="bikes/staging/currency.sql",
)
ENTITIES = {
    **{name: table_entity(NAME, name, table, key, "modifieddate", f"bikes/staging/{name}.sql", deletes=DELETES)
       for name, table, key in TABLES},
    CURRENCY.name: CURRENCY,
}
PIPELINE = Pipeline(
    name=NAME,
    entities=ENTITIES,
    marts={name: Mart(name, f"bikes/{name}.sql", entities) for name, entities in MARTS},
    settings=bikes,
    http_base=currency_base,
    source_dsn=source_dsn,
)
