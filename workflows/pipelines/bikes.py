"""bikes: an AdventureWorks-shaped OLTP database (18 tables) and a currency JSON API -> staging
mirrors upserted on each table's key -> a star schema in schema ``bikes``.

Extract is one task per table (parallel under ``--workers N``): a table's first load, or
``[bikes] full_refresh``, lands every row changed before ds+1; later days land the rows whose
modifieddate is in [ds, ds+1), so updates are caught as well as inserts. The currency API is
landed whole every day. Marts: ``bikes.dim_*`` (``dim_product`` type 2 on list price and
standard cost), ``bikes.fact_order`` (order line) and ``bikes.fact_order_reason``.
"""
from __future__ import annotations

import datetime as dt
import json

import luigi
import pyarrow.parquet as pq

from workflows.config import demo
from workflows.declarations import Entity, Mart, Pipeline
from workflows.sources import database, http

NAME = "bikes"


class bikes(luigi.Config):  # noqa: N801 - section name [bikes]
    source_dsn = luigi.Parameter(
        default="", significant=False, visibility=luigi.parameter.ParameterVisibility.PRIVATE,
        description="libpq DSN of the AdventureWorks source; empty = a generated <warehouse db>_bikes_oltp")
    currency_url = luigi.Parameter(default="", description="Currency API base URL; empty = in-process demo API")
    full_refresh = luigi.BoolParameter(default=False, description="Land every table whole, not only ds's changes")
    retries = luigi.IntParameter(default=5, description="HTTP retries of the currency API")
    backoff_factor = luigi.FloatParameter(default=0.5)
    connect_timeout = luigi.FloatParameter(default=5.0)
    read_timeout = luigi.FloatParameter(default=30.0)


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


# ── the currency API: landed as received (JSON lines), staged against its JSON Schema ──

def land_currencies(path: str) -> dict:
    """GET the currency list and write it one JSON record per line."""
    cfg = bikes()
    base = cfg.currency_url.strip().rstrip("/")
    if not base:
        from workflows.demo.currency_server import base_url

        base = base_url()
    url = f"{base}{CURRENCY.endpoint}"
    with http.session(cfg.retries, cfg.backoff_factor) as s:
        records = http.get_json_list(s, url, None, (cfg.connect_timeout, cfg.read_timeout))
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    fields = sorted({k for r in records if isinstance(r, dict) for k in r})
    return {"source_url": url, "mode": "snapshot", "record_count": len(records), "fields": fields}


def stage_jsonl(entity: Entity, raw_path: str, parquet_path: str, ds: dt.date) -> tuple[int, list[dict]]:
    """JSON lines -> Parquet; a line that is not JSON or breaks the schema is quarantined with its line."""
    from workflows.stage import stage_records  # lazy: workflows.stage imports the pipeline registry

    records, lines, rejects = [], [], []
    with open(raw_path, encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            try:
                records.append(json.loads(text))
                lines.append(number)
            except ValueError as exc:
                rejects.append({"rule": "parse", "reason": f"not JSON: {exc}", "line": number, "record": text})
    table, bad = stage_records(entity, records)
    line_of = {id(r): n for r, n in zip(records, lines)}
    for reject in bad:
        reject["line"] = line_of.get(id(reject["record"]))
    pq.write_table(table, parquet_path, compression="zstd")
    return table.num_rows, rejects + bad


# ── hooks ──────────────────────────────────────────────────────────────────────

def source_dsn(ds: dt.date) -> str:
    """The configured source, or the generated one brought up to ds."""
    configured = bikes().source_dsn.strip()
    if configured:
        return configured
    from workflows import warehouse
    from workflows.demo import bikes_oltp

    return bikes_oltp.ensure(warehouse.dsn(), demo().seed, demo().size, ds)


def land(entity: Entity, ds: dt.date, path: str) -> dict:
    """Land one table's changes for ds (or the currency list) at ``path``; return the file's meta."""
    if entity.name == CURRENCY.name:
        return land_currencies(path)
    return database.land_changes(NAME, source_dsn(ds), entity, ds, path, "modifieddate", bikes().full_refresh)


def extra_tasks(ds: dt.date) -> list:
    """Every table is loaded each day, also those no mart reads (their checks still run)."""
    from workflows.load import Load

    return [Load(date=ds, pipeline=NAME, entity=name) for name in ENTITIES]


CURRENCY = Entity(
    name="currency", schema="bikes/currency.json", columns=database.schema_columns("bikes/currency.json"),
    key=("currencycode",), endpoint="/currencies", raw_file="currency.jsonl", stager=stage_jsonl,
    merge_sql="bikes/staging/currency.sql",
)
ENTITIES = {
    **{name: database.table_entity(NAME, name, table, key, f"bikes/staging/{name}.sql") for name, table, key in TABLES},
    CURRENCY.name: CURRENCY,
}
PIPELINE = Pipeline(
    name=NAME,
    entities=ENTITIES,
    marts={name: Mart(name, f"bikes/{name}.sql", entities) for name, entities in MARTS},
    land=land,
    extra_tasks=extra_tasks,
)
