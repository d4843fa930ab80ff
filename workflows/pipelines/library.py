"""library: a library application's database (members, books, rents) -> a warehouse mirror in
schema ``library``, kept current by incremental MERGE.

Extract lands each table's rows whose ``updated_at`` is in [ds - lag, ds + 1) (every row, NULL
watermarks included, on the table's first load — claimed in ``etl.source_loads`` — or with ``[library]
full_refresh``) and a snapshot of its keys; staging keeps each day's changes as its ds partition and
the current key set in ``staging.source_keys``; the marts MERGE a partition into
``library.<table>``, a row replacing the warehouse's only when it is not older, and flag deleted rows
(``deleted_at``), so updates (returns, stock changes), late commits within the lag and deletes arrive,
and re-runs or late days change nothing (docs/incremental.md).
"""
from __future__ import annotations

import datetime as dt

from workflows import warehouse
from workflows.config import demo, library
from workflows.declarations import Mart, Pipeline, table_entity
from workflows.demo import library_app

NAME = "library"

# entity (= mart) name, source table, key
TABLES = (
    ("members", "public.members", ("member_id",)),
    ("books", "public.books", ("book_id",)),
    ("rents", "public.rents", ("rent_id",)),
)


def source_dsn(ds: dt.date) -> str:
    """The configured source, or the generated one brought up to ds."""
    configured = library().source_dsn.strip()
    return configured or library_app.ensure(warehouse.dsn(), demo().seed, demo().size, ds)


PIPELINE = Pipeline(
    name=NAME,
    entities={name: table_entity(NAME, name, table, key, "updated_at", deletes="snapshot") for name, table, key in TABLES},
    marts={name: Mart(name, f"library/{name}.sql", (name,)) for name, _, _ in TABLES},
    settings=library,
    source_dsn=source_dsn,
)
