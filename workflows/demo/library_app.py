"""The generated `library` source: a library application's database beside the warehouse.

``ensure(warehouse_dsn, seed, size, ds)`` creates ``<warehouse db>_library_app`` on the warehouse's
server (once), generates its history before the first day asked for, and applies every day of
change up to ``ds`` in date order, each day once (sql/demo/library_app_*.sql, all set-based).
"""
from __future__ import annotations

import datetime as dt

from workflows.demo import generated_db


def database_name(warehouse_dsn: str) -> str:
    return generated_db.database_name(warehouse_dsn, "library_app")


def ensure(warehouse_dsn: str, seed: int, size: int, ds: dt.date) -> str:
    """The DSN of the generated source, brought up to day ``ds``."""
    dsn = generated_db.ensure_database(warehouse_dsn, database_name(warehouse_dsn))
    generated_db.advance_generated(dsn, "library_app", {"seed": seed, "size": size}, ds)
    return dsn
