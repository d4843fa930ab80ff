"""A warehouse built when bikes.dim_product's key was productid × 10000 + version keeps its keys when
the stable keys (bikes.product_version_keys) arrive: the migration records them once, new versions
get keys above them, and applying the DDL again changes nothing (real embedded PostgreSQL)."""
from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

import psycopg2

from workflows import warehouse

T1, T2, T3 = (dt.datetime(2026, 11, d) for d in (10, 12, 14))


def migrate_again(dsn: str) -> None:
    with contextlib.closing(psycopg2.connect(dsn)) as conn:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM etl.schema_versions")  # as if the DDL files had changed
        warehouse.migrate(conn)


def test_old_product_keys_are_recorded_as_the_versions_keys(pg_dsn):
    with contextlib.closing(psycopg2.connect(pg_dsn)) as conn:
        warehouse.migrate(conn)
        with conn, conn.cursor() as cur:  # the state an old warehouse is in: history, dim rows with old keys
            cur.execute("""INSERT INTO staging.bikes_product_history (productid, modifieddate, listprice, standardcost, ds)
                           VALUES (7, %(t1)s, 10, 5, '2026-11-10'), (7, %(t2)s, 10, 5, '2026-11-12'),
                                  (7, %(t3)s, 12, 6, '2026-11-14'), (8, %(t1)s, 3, 1, '2026-11-10')""",
                        {"t1": T1, "t2": T2, "t3": T3})
            cur.execute("""INSERT INTO bikes.dim_product (product_key, product_id, version, valid_from, valid_to, is_current)
                           VALUES (70001, 7, 1, %(t1)s, %(t3)s, false), (70002, 7, 2, %(t3)s, '9999-12-31', true),
                                  (80001, 8, 1, %(t1)s, '9999-12-31', true)""", {"t1": T1, "t3": T3})
    migrate_again(pg_dsn)
    with contextlib.closing(psycopg2.connect(pg_dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT product_key, productid, changed_at FROM bikes.product_version_keys ORDER BY 1")
        assert cur.fetchall() == [(70001, 7, T1), (70002, 7, T3), (80001, 8, T1)]
        cur.execute("SELECT product_key, productid, version, listprice FROM bikes.product_versions() ORDER BY 2, 3")
        assert cur.fetchall() == [(70001, 7, 1, Decimal("10.0000")), (70002, 7, 2, Decimal("12.0000")),
                                  (80001, 8, 1, Decimal("3.0000"))]
        cur.execute("INSERT INTO bikes.product_version_keys (productid, changed_at) VALUES (9, %s) RETURNING product_key",
                    (T1,))
        assert cur.fetchone()[0] > 80001
    with contextlib.closing(psycopg2.connect(pg_dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM bikes.product_version_keys ORDER BY 1")
        before = cur.fetchall()
    migrate_again(pg_dsn)  # applied again: the keys are not seeded twice, nothing moves
    with contextlib.closing(psycopg2.connect(pg_dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM bikes.product_version_keys ORDER BY 1")
        assert cur.fetchall() == before and len(before) == 4
