"""The generated `bikes` source: an AdventureWorks-shaped OLTP database beside the warehouse.

``ensure(warehouse_dsn, seed, size, ds)`` creates ``<warehouse db>_bikes_oltp`` on the warehouse's
server (once), generates its history before the first day asked for, and applies every day of
change up to ``ds`` in date order, each day once (sql/demo/bikes_oltp_*.sql, all set-based).
At size N: 150 × N historical orders (about 3 lines each), 10 × N new orders a day.
"""
from __future__ import annotations

import datetime as dt

from workflows.demo.currency_server import RATE_BASE
from workflows.demo import generated_db


def database_name(warehouse_dsn: str) -> str:
    return generated_db.database_name(warehouse_dsn, "bikes_oltp")


def params(seed: int, size: int) -> dict:
    return {"seed": seed, "size": size, "rate_codes": list(RATE_BASE), "rate_base": list(RATE_BASE.values())}


def ensure(warehouse_dsn: str, seed: int, size: int, ds: dt.date) -> str:
    """The DSN of the generated source, brought up to day ``ds``."""
    dsn = generated_db.ensure_database(warehouse_dsn, database_name(warehouse_dsn))
    generated_db.advance_generated(dsn, "bikes_oltp", params(seed, size), ds)
    return dsn
