"""Where a pipeline's checks are declared, and what each audit and mart build reads besides its own data.

Entity checks: ``<checks_dir or schemas/>/<pipeline>/<entity>.checks.json``. Mart checks: beside
the mart's SQL file, ``<sql file without .sql>.checks.json`` (or ``<mart_checks_dir>/<pipeline>/``
with that name). ``fingerprint`` hashes a step's declarations and the thresholds it reads, so a
changed check or threshold makes the step's last decision stale. Parsed declarations are cached
per process by file (path, modification time, size) and thresholds, so the completeness checks
that ask for them many times read each file once.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from workflows.declarations import Pipeline
from workflows.quality.checks import CheckSpec, parse_checks, read_doc
from workflows.quality.gates import default_gates, settings, thresholds
from workflows.resources import SCHEMAS, SQL, resource


def entity_checks_path(pipeline: Pipeline, entity: str) -> Path:
    root = Path(settings().checks_dir) if settings().checks_dir else SCHEMAS
    return Path(str(root.joinpath(pipeline.name, f"{entity}.checks.json")))


def mart_checks_path(pipeline: Pipeline, mart: str) -> Path:
    sql_file = Path(str(resource(SQL, pipeline.mart(mart).sql)))
    name = sql_file.name[: -len(".sql")] if sql_file.name.endswith(".sql") else sql_file.name
    if settings().mart_checks_dir:
        return Path(settings().mart_checks_dir, pipeline.name, f"{name}.checks.json")
    return sql_file.with_name(f"{name}.checks.json")


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


_PARSED: dict[tuple, tuple[CheckSpec, ...]] = {}


def _specs(pipeline: Pipeline, step: str, scope: str, path: Path) -> tuple[CheckSpec, ...]:
    """Parsed once per declaration object, file and file version."""
    key = (id(pipeline), pipeline.name, step, scope, str(path), _stat(path))
    if key not in _PARSED:
        if step == "audit":
            decl = pipeline.entity(scope)
            _PARSED[key] = tuple(parse_checks(pipeline.name, scope, read_doc(path), str(path), step="audit",
                                              scope_key=tuple(decl.key), defaults=default_gates(decl)))
        else:
            _PARSED[key] = tuple(parse_checks(pipeline.name, scope, read_doc(path), str(path), step="mart"))
    return _PARSED[key]


def entity_specs(pipeline: Pipeline, entity: str) -> list[CheckSpec]:
    """The entity's declared checks plus its default gates."""
    path = entity_checks_path(pipeline, entity)
    return list(_specs(pipeline, "audit", entity, path))


def mart_specs(pipeline: Pipeline, mart: str) -> list[CheckSpec]:
    """The mart's declared checks (none without a file)."""
    path = mart_checks_path(pipeline, mart)
    return list(_specs(pipeline, "mart", mart, path))


def _entity_of(pipeline: Pipeline, table: str) -> str | None:
    schema, _, name = table.partition(".")
    if schema != "staging":
        return None
    return next((e for e in pipeline.entities if pipeline.staging_table(e) == name), None)


def audit_reads(pipeline: Pipeline, entity: str) -> list[str]:
    """Other entities whose staging tables the entity's checks read (their Loads come first)."""
    found = {_entity_of(pipeline, t) for s in entity_specs(pipeline, entity) for t in s.tables()}
    return sorted(e for e in found if e and e != entity)


def mart_reads(pipeline: Pipeline, mart: str) -> list[str]:
    """Other marts of the pipeline whose tables the mart's checks read (built first)."""
    found = set()
    for spec in mart_specs(pipeline, mart):
        for table in spec.tables():
            schema, _, name = table.partition(".")
            if schema != "staging" and name in pipeline.marts and name != mart:
                found.add(name)
    return sorted(found)


@functools.lru_cache(maxsize=1024)
def _hash_of(path: Path, stat) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if stat else "-"


def _file_hash(path: Path) -> str:
    return _hash_of(path, _stat(path))


def fingerprint(pipeline: Pipeline, step: str, scope: str) -> str:
    """Hash of what a step's checks are made of: its checks file, the thresholds and (for a mart) its SQL."""
    if step == "audit":
        parts = [_file_hash(entity_checks_path(pipeline, scope)), json.dumps(thresholds(), sort_keys=True),
                 json.dumps(default_gates(pipeline.entity(scope)), sort_keys=True)]
    else:
        parts = [_file_hash(mart_checks_path(pipeline, scope)), _file_hash(Path(str(resource(SQL, pipeline.mart(scope).sql))))]
    return hashlib.sha256("\x00".join([step, scope, *parts]).encode()).hexdigest()[:16]
