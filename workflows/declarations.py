"""Declarations: what a pipeline is made of. The generic tasks read these; no per-entity classes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa


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

    @property
    def staging_table(self) -> str:
        return self.name

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
    fetch: Callable[[Entity, dt.date], tuple[list[dict], dict]] = field(repr=False, default=None)

    def staging_table(self, entity: str) -> str:
        return f"{self.name}_{self.entities[entity].name}"
