"""library: a library application's database (members, books, rents) -> a warehouse mirror in
schema ``library``, kept current by incremental MERGE.

Extract lands each table's rows whose ``updated_at`` is in [ds, ds+1) (every row before ds+1 on
the table's first load, or with ``[library] full_refresh``); staging keeps each day's changes as
its ds partition; the marts MERGE a partition into ``library.<table>``, a row replacing the
warehouse's only when it is not older, so updates (returns, stock changes) arrive and re-runs or
late days change nothing.
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
    entities={name: table_entity(NAME, name, table, key, "updated_at") for name, table, key in TABLES},
    marts={name: Mart(name, f"library/{name}.sql", (name,)) for name, _, _ in TABLES},
    settings=library,
    source_dsn=source_dsn,
)
