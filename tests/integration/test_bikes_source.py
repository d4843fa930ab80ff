"""The generated bikes source: deterministic per (seed, size, opening day), each day applied once and
in date order whichever days are asked for, and a source with the AdventureWorks CHECK constraints."""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import psycopg2
import pytest

from workflows.demo import bikes_oltp
from workflows.demo import generated_db

D0, D1, D2 = (dt.date(2026, 11, 17) + dt.timedelta(days=n) for n in range(3))
TABLES = ("person.person", "humanresources.employee", "production.product", "purchasing.shipmethod",
          "sales.currencyrate", "sales.customer", "sales.store", "sales.salesperson", "sales.shoppingcartitem",
          "sales.salesorderheader", "sales.salesorderdetail", "sales.salesorderheadersalesreason")


def warehouse_db(pg_server) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with contextlib.closing(psycopg2.connect(pg_server.get_uri())) as admin:
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
    return pg_server.get_uri(name)


def fingerprint(dsn: str) -> dict[str, tuple]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        out = {}
        for table in TABLES:
            cur.execute(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")
            out[table] = cur.fetchone()
        return out


def test_same_seed_same_source_each_day_applied_once(pg_server):
    a_warehouse = warehouse_db(pg_server)
    a = bikes_oltp.ensure(a_warehouse, 7, 1, D0)
    bikes_oltp.ensure(a_warehouse, 7, 1, D2)  # D1 and D2 at once
    b_warehouse = warehouse_db(pg_server)
    for ds in (D0, D1, D2):  # one day at a time
        b = bikes_oltp.ensure(b_warehouse, 7, 1, ds)
    assert fingerprint(a) == fingerprint(b)

    before = fingerprint(b)
    generated_db._advanced.clear()  # forget this process's cache: ask the database itself
    for ds in (D1, D0, D2):  # days already applied (and one before the opening day) change nothing
        bikes_oltp.ensure(b_warehouse, 7, 1, ds)
    assert fingerprint(b) == before

    with contextlib.closing(psycopg2.connect(b)) as conn, conn.cursor() as cur:
        cur.execute("SELECT ds, is_opening FROM generator.days ORDER BY ds")
        assert cur.fetchall() == [(D0, True), (D1, False), (D2, False)]
        cur.execute("SELECT count(*) FROM sales.salesorderheader WHERE modifieddate >= %s", (D1,))
        assert cur.fetchone()[0] > 0
        # the source enforces AdventureWorks' CHECK constraints
        with pytest.raises(psycopg2.errors.CheckViolation):
            cur.execute("UPDATE sales.salesorderdetail SET orderqty = 0 WHERE salesorderdetailid = 1")
