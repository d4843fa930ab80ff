"""Landing: sources only land raw data in the lake, as received (HTTP JSON, file drops, database COPY).

``land(pipeline, entity, ds, path)`` writes the entity's raw file for ds at ``path`` and returns
its meta: where it came from, plus what ``describe`` counts independently of staging
(``lines`` — non-blank physical lines, a CSV header excluded —, ``bytes``, ``sha256``, and the
CSV header ``fields``).
"""
from __future__ import annotations

import datetime as dt

from workflows.declarations import Drop, Entity, Http, Pipeline, Table
from workflows.landing import database, drops, http
from workflows.landing.describe import describe
from workflows.landing.errors import DropMissing, SourceError

__all__ = ["land", "SourceError", "DropMissing"]

_LANDERS = {Http: http.land, Drop: drops.land, Table: database.land}


def land(pipeline: Pipeline, entity: Entity, ds: dt.date, path: str) -> dict:
    """Land the entity's raw file for ds at ``path`` (the caller commits it atomically); its meta."""
    meta = _LANDERS[type(entity.source)](pipeline, entity, ds, path)
    return {**meta, **describe(path, entity.format)}
