"""Declarations: what a pipeline is made of. The generic tasks read these; no per-entity classes."""
from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pyarrow as pa

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@functools.lru_cache(maxsize=None)
def load_schema(schema_path: str) -> dict:
    """An entity's JSON Schema (path under schemas/), parsed once per process."""
    return json.loads((SCHEMA_DIR / schema_path).read_text())


@functools.lru_cache(maxsize=None)
def validator(schema_path: str) -> jsonschema.protocols.Validator:
    """The checked, cached validator of an entity's JSON Schema."""
    schema = load_schema(schema_path)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@dataclass(frozen=True)
class Column:
    """One staged column: ``source`` is a dotted path in the raw record
    (``item.`` addresses the exploded element), ``parse`` converts the raw value,
    ``default`` fills a missing one, ``derive`` computes it from the other staged values."""

    name: str
    type: pa.DataType
    source: str | None = None
    parse: Callable[[Any], Any] | None = None
    default: Any = None
    derive: Callable[[dict], Any] | None = None


@dataclass(frozen=True)
class Lookup:
    """Every ``column`` value must be a valid ``key`` of ``entity`` staged for the same ds."""

    column: str
    entity: str
    key: str


@dataclass(frozen=True)
class Entity:
    """A source entity: how to fetch it, its JSON Schema contract, and how to stage it."""

    name: str
    schema: str  # path under schemas/
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    endpoint: str = ""
    windowed: bool = False  # extract by [ds, ds+1) window (else: snapshot as of ds)
    explode: str | None = None  # list field: one staged row per element
    lookups: tuple[Lookup, ...] = ()
    drop_fields: tuple[str, ...] = ()  # removed before landing (secrets)
    raw_file: str = ""  # file name in the raw zone; default <name>.json (the JSON envelope)
    # Custom staging for big or non-JSON raw files, streamed:
    #   stager(entity, raw_local_path, parquet_local_path, ds) -> (rows_staged, rejects)
    stager: Callable[["Entity", str, str, dt.date], tuple[int, list[dict]]] | None = field(default=None, repr=False)
    # Load mode: None = replace the ds partition (DELETE + COPY). A file under sql/ = COPY into
    # the temp table ``incoming`` (LIKE the staging table) and run that merge SQL (params: ds).
    merge_sql: str | None = None

    @property
    def raw_filename(self) -> str:
        return self.raw_file or f"{self.name}.json"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.type) for c in self.columns])


@dataclass(frozen=True)
class Mart:
    """A mart table refreshed for one ds by the set-based SQL file ``sql`` (params: ds)."""

    name: str
    sql: str  # path under sql/
    entities: tuple[str, ...]  # staging inputs (their Load tasks are required)


@dataclass(frozen=True)
class Pipeline:
    name: str
    entities: dict[str, Entity]
    marts: dict[str, Mart]
    # JSON sources: fetch(entity, ds) -> (records, meta); Extract writes the envelope {meta, records}.
    fetch: Callable[[Entity, dt.date], tuple[list[dict], dict]] | None = field(repr=False, default=None)
    # File/database sources: land(entity, ds, local_path) writes the raw file itself (streamed) and
    # returns its meta, which Extract stores beside it as <raw_file>.meta.json.
    land: Callable[[Entity, dt.date, str], dict] | None = field(repr=False, default=None)
    # Extra per-ds tasks RunAll requires (e.g. exports): extra_tasks(ds) -> [luigi.Task]. Their
    # output must be a PartitionMarker (written last) so RunAll's completeness stays one query.
    extra_tasks: Callable[[dt.date], list] | None = field(repr=False, default=None)

    def staging_table(self, entity: str) -> str:
        return f"{self.name}_{self.entities[entity].name}"
