"""Declarations: what a pipeline is made of. The generic tasks read these; a new entity is a declaration.

An ``Entity`` names its source (``Http`` endpoint, file ``Drop`` pattern, database ``Table``),
its JSON Schema (the contract of one raw record, under the package's ``schemas/``), the columns
it stages and its key; a ``Mart`` names its SQL file (under ``sql/``) and the entities it reads;
a ``Pipeline`` gathers them with the hooks that say where its sources are.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import jsonschema
import pyarrow as pa

from workflows.resources import SCHEMAS, read_sql, resource
from workflows.staging.contract import Contract, compile_contract
from workflows.staging.engine import LINE, Lookup, StagedColumn, StageSpec

__all__ = ["Column", "Lookup", "Http", "Drop", "Table", "Entity", "Mart", "View", "Pipeline", "LINE",
           "load_schema", "read_sql"]


@functools.lru_cache(maxsize=None)
def load_schema(schema_path: str) -> dict:
    """An entity's JSON Schema (path under schemas/, or absolute), parsed and checked once per process."""
    path = resource(SCHEMAS, schema_path)
    if not path.is_file():
        raise FileNotFoundError(f"JSON Schema not found: schemas/{schema_path}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)
    return schema


Column = StagedColumn  # one staged column; see workflows/staging/engine.py


@dataclass(frozen=True)
class Http:
    """An HTTP endpoint answering a JSON array; ``windowed``: by [ds, ds+1) (``startdate``/``enddate``);
    ``snapshot``: the real API serves only now (an older ds is refused); ``drop_fields`` never land."""

    path: str
    windowed: bool = False
    snapshot: bool = False
    drop_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drop:
    """A daily file drop in the pipeline's landing folder, e.g. ``ga4_events_{yyyymmdd}.csv``
    (placeholders: ``{yyyymmdd}``, ``{ds}``)."""

    pattern: str

    def name(self, ds: dt.date) -> str:
        return self.pattern.format(yyyymmdd=f"{ds:%Y%m%d}", ds=ds.isoformat())

    @property
    def format(self) -> str:
        return {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "json"}[self.pattern.rsplit(".", 1)[-1]]


@dataclass(frozen=True)
class Table:
    """A source database table (``schema.table``) read by its watermark column.

    ``lag``: days of look-back (the extract for ds reads ``[ds - lag, ds + 1)``); None = the
    ``[incremental] lag_days`` setting. ``deletes``: how deleted source rows are seen — None (not
    seen), ``"snapshot"`` (every extract also lands the table's keys; staged keys missing from it are
    marked deleted). Nothing else is accepted: a soft-delete column is not a policy yet (the extract
    refuses it with one line). See docs/incremental.md."""

    table: str
    watermark: str
    lag: int | None = None
    deletes: str | None = None


@dataclass(frozen=True)
class Entity:
    """A source entity: where it comes from, its contract, how it is staged and loaded."""

    name: str
    schema: str                                  # path under schemas/
    source: Http | Drop | Table
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    duplicates: str | None = None                # "first" | "last": repeats of the key in a file quarantined
    explode: str | None = None                   # list field: one staged row per element
    lookups: tuple[Lookup, ...] = ()
    # personal raw fields: field -> factory of the function giving what a quarantined record shows
    # instead (a pseudonym, a masked value); the factory runs once per staging run
    protect: dict[str, Callable[[], Callable[[Any], Any]]] = field(default_factory=dict, hash=False, compare=False)
    # Load mode: None = replace the ds partition (DELETE + COPY). A file under sql/ = COPY into
    # the temp table ``incoming`` (LIKE the staging table) and run that merge SQL (params: ds).
    merge_sql: str | None = None

    @property
    def format(self) -> str:
        if isinstance(self.source, Http):
            return "json"
        if isinstance(self.source, Table):
            return "csv"
        return self.source.format

    @property
    def raw_filename(self) -> str:
        return f"{self.name}.{self.format}"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.type) for c in self.columns])

    def contract(self) -> Contract:
        return _contract(self.name, self.schema, self.explode)

    def stage_spec(self, timezone: str, max_record_bytes: int) -> StageSpec:
        """The staging engine's view of this entity."""
        return StageSpec(
            name=self.name, format=self.format, contract=self.contract(),
            columns=self.columns,
            key=self.key, duplicates=self.duplicates, lookups=self.lookups,
            protect={name: make() for name, make in self.protect.items()},
            timezone=timezone, max_record_bytes=max_record_bytes,
        )


@functools.lru_cache(maxsize=None)
def _contract(name: str, schema_path: str, explode: str | None) -> Contract:
    contract = compile_contract(f"schemas/{schema_path}", load_schema(schema_path), explode)
    return contract


@dataclass(frozen=True)
class Mart:
    """A mart table refreshed for one ds by the set-based SQL file ``sql`` (params: ds)."""

    name: str
    sql: str                     # path under sql/
    entities: tuple[str, ...]    # staging inputs (their Load tasks are required)


@dataclass(frozen=True)
class View:
    """A materialized view refreshed after the pipeline's marts, by ``sql`` (params: ds; it ends
    with a SELECT of the view's row count for ds)."""

    name: str
    sql: str


@dataclass(frozen=True)
class Pipeline:
    """A pipeline: entities, marts, views, and where its sources are (hooks, read at run time)."""

    name: str
    entities: dict[str, Entity]
    marts: dict[str, Mart]
    settings: Callable[[], Any]                                    # its luigi.Config section (timezone, …)
    views: tuple[View, ...] = ()
    exports: bool = False                                          # its marts as JSON under exports/ every ds
    # SQL under sql/ (params: ds) answering the other dates whose mart rows the files of ds changed
    # (late rows); Export for ds rewrites their existing exports too. None = only ds's own export.
    export_dates: str | None = None
    http_base: Callable[[dt.date], str] | None = field(default=None, repr=False)   # base URL for ``Http``
    drops: Callable[[], str] | None = field(default=None, repr=False)             # landing folder; "" = demo
    demo_drop: Callable[[Entity, dt.date, str], str] | None = field(default=None, repr=False)  # -> file path
    source_dsn: Callable[[dt.date], str] | None = field(default=None, repr=False)  # for ``Table``

    def staging_table(self, entity: str) -> str:
        return f"{self.name}_{self.entities[entity].name}"

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise ValueError(f"pipeline {self.name!r} has no entity {name!r}; "
                             f"known: {', '.join(sorted(self.entities))}") from None

    def mart(self, name: str) -> Mart:
        try:
            return self.marts[name]
        except KeyError:
            raise ValueError(f"pipeline {self.name!r} has no mart {name!r}; "
                             f"known: {', '.join(sorted(self.marts))}") from None


_ARROW = {"integer": pa.int64(), "number": pa.decimal128(38, 6), "boolean": pa.bool_()}
_FORMATS = {"date": pa.date32(), "date-time": pa.timestamp("us", tz="UTC"), "local-date-time": pa.timestamp("us")}


def schema_columns(schema_path: str) -> tuple[Column, ...]:
    """Staged columns of a flat JSON Schema (a database table's): same names, in declared order;
    integer -> int64, number -> decimal(38, 6), boolean, strings by ``format`` (date, date-time,
    local-date-time) or text."""
    columns = []
    for name, prop in load_schema(schema_path)["properties"].items():
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        json_type = next(t for t in types if t != "null")
        arrow = _FORMATS.get(prop.get("format", ""), _ARROW.get(json_type, pa.string()))
        columns.append(Column(name, arrow, name))
    return tuple(columns)


def table_entity(pipeline: str, name: str, table: str, key: tuple[str, ...], watermark: str,
                 merge_sql: str | None = None, lag: int | None = None, deletes: str | None = None) -> Entity:
    """An entity read from source table ``table`` by ``watermark``; its columns are its JSON Schema's
    properties (``schemas/<pipeline>/<name>.json``); repeats of its key in one extract: first wins."""
    schema = f"{pipeline}/{name}.json"
    return Entity(name=name, schema=schema, source=Table(table, watermark, lag, deletes), columns=schema_columns(schema),
                  key=key, duplicates="first", merge_sql=merge_sql)
