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

import luigi

from workflows.config import demo
from workflows.declarations import Entity, Mart, Pipeline
from workflows.sources import database

NAME = "library"


class library(luigi.Config):  # noqa: N801 - section name [library]
    source_dsn = luigi.Parameter(
        default="", significant=False, visibility=luigi.parameter.ParameterVisibility.PRIVATE,
        description="libpq DSN of the library application's database; empty = a generated <warehouse db>_library_app")
    full_refresh = luigi.BoolParameter(default=False, description="Land every table whole, not only ds's changes")


# entity (= mart) name, source table, key
TABLES = (
    ("members", "public.members", ("member_id",)),
    ("books", "public.books", ("book_id",)),
    ("rents", "public.rents", ("rent_id",)),
)


def source_dsn(ds: dt.date) -> str:
    """The configured source, or the generated one brought up to ds."""
    configured = library().source_dsn.strip()
    if configured:
        return configured
    from workflows import warehouse
    from workflows.demo import library_app

    return library_app.ensure(warehouse.dsn(), demo().seed, demo().size, ds)


def land(entity: Entity, ds: dt.date, path: str) -> dict:
    """Land one table's changes for ds at ``path``; return the file's meta."""
    return database.land_changes(NAME, source_dsn(ds), entity, ds, path, "updated_at", library().full_refresh)


PIPELINE = Pipeline(
    name=NAME,
    entities={name: database.table_entity(NAME, name, table, key) for name, table, key in TABLES},
    marts={name: Mart(name, f"library/{name}.sql", (name,)) for name, _, _ in TABLES},
    land=land,
)
