"""Code versions of markers: a hash of what determines a step's output, computed once per process.

``of(target)`` names the code that makes marker ``target``:

- ``extract/<p>/<e>``: a constant. A landed raw file is what the source said; changed code never
  makes it stale (a snapshot API could not give an old day back). ``Rerun --from extract`` re-lands.
- ``stage/<p>/<e>``: the staging engine's contract version (``STAGING_CONTRACT``), the entity's
  declaration (columns, transforms by name and source, key, duplicates, lookups, ...), its JSON
  Schema file and the pipeline's timezone and record size limit.
- ``load/<p>/<e>``: ``LOAD_CONTRACT``, the staging table and the merge SQL file if any.
- ``audit/<p>/<e>``, ``build/<p>/<m>``, ``mart/<p>/<m>``: the checks' fingerprint (entity checks +
  thresholds; mart SQL file + its checks file), as the gate decisions use.
- ``mart/<p>/<view>``: the view's SQL file. Others (record, check, export, report, pack): a
  constant per step (``STEP_VERSIONS``), bumped when the step's output changes meaning.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from pathlib import Path

from workflows import pipelines
from workflows.config import staging
from workflows.quality import declared
from workflows.resources import SCHEMAS, SQL, resource

STAGING_CONTRACT = "staging-1"   # bump when the staging engine stages the same raw file differently
LOAD_CONTRACT = "load-1"         # bump when Load writes the same Parquet file differently
STEP_VERSIONS = {"extract": "extract-1", "record": "record-1", "check": "check-1", "export": "export-2",
                 "report": "report-1", "pack": "pack-1"}

_cache: dict[str, tuple[object, str]] = {}
_dependents: list = []  # caches built from these versions (RunAll's day graph, its freshness answers)


def on_clear(forget) -> None:
    """Call ``forget()`` whenever the versions are forgotten (a cache that holds versions)."""
    _dependents.append(forget)


def clear() -> None:
    """Forget the computed versions and every cache built from them. Versions are computed once per
    process, from the files and settings the process started with: a test that edits a SQL file, a
    declaration or a setting (e.g. a threshold) in-process calls this."""
    _cache.clear()
    for forget in _dependents:
        forget()


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _file(folder, relpath: str) -> str:
    path = Path(str(resource(folder, relpath)))
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"


def stable(value) -> object:
    """A JSON-able description of a declaration that is the same in every process (functions by
    module, name and source; no addresses)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: stable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [stable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if callable(value):
        try:
            source = inspect.getsource(value)
        except (OSError, TypeError):
            source = ""
        name = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__name__)}"
        return {"callable": name, "source": hashlib.sha256(source.encode()).hexdigest()[:16]}
    return str(value)


def _compute(target: str, decl) -> str:
    step, _, rest = target.partition("/")
    scope = rest.partition("/")[2]
    if step == "stage":
        entity = decl.entity(scope)
        cfg = decl.settings()
        return _hash(STAGING_CONTRACT, json.dumps(stable(entity), sort_keys=True), _file(SCHEMAS, entity.schema),
                     str(cfg.timezone), str(staging().max_record_bytes))
    if step == "load":
        entity = decl.entity(scope)
        return _hash(LOAD_CONTRACT, decl.staging_table(scope), _file(SQL, entity.merge_sql) if entity.merge_sql else "")
    if step == "audit":
        return declared.fingerprint(decl, "audit", scope)
    if step in ("build", "mart") and scope in decl.marts:
        return declared.fingerprint(decl, "mart", scope)
    if step == "mart":
        view = next(v for v in decl.views if v.name == scope)
        return _hash("view", _file(SQL, view.sql))
    if step == "report" and rest == "kpi":
        return _hash(STEP_VERSIONS["report"], *(_file(SQL, f"reports/{n}.sql") for n in (
            "kpi_headline", "kpi_trend", "kpi_top_categories", "kpi_top_products", "kpi_price_histogram",
            "kpi_dq_status")))
    return STEP_VERSIONS.get(step, step)


def of(target: str) -> str:
    """The current code version of marker ``target`` (cached per process and declaration)."""
    step, _, rest = target.partition("/")
    name = rest.partition("/")[0]
    decl = pipelines.PIPELINES.get(name) if step not in ("report",) else None
    cached = _cache.get(target)
    if cached is not None and cached[0] is decl:
        return cached[1]
    version = _compute(target, decl)
    _cache[target] = (decl, version)
    return version
