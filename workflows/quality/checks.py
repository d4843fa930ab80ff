"""Data-quality check declarations (``schemas/<pipeline>/<entity>.checks.json``) and their set-based SQL.

Each database check compiles to one query over the ds partition of a table,
returning (failing_count, total_count, sample of failing keys). Expressions and
``where`` filters are trusted snippets committed in the repo; identifiers are
quoted with psycopg2.sql and values bound as parameters.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg2 import sql

SAMPLE_SIZE = 5
SQL_TYPES = {"not_null", "unique", "accepted_values", "range", "expression", "relationships"}
TYPES = SQL_TYPES | {"freshness", "row_count_anomaly", "schema_drift", "reconciliation"}
RECONCILIATIONS = {"raw_vs_staged", "parquet_vs_table", "staging_vs_mart"}
DEFAULT_RECONCILIATIONS = ("raw_vs_staged", "parquet_vs_table")


class CheckDeclarationError(ValueError):
    """A checks file is malformed; the message names the file and the check."""


@dataclass(frozen=True)
class CheckSpec:
    """One declared check, with defaults resolved."""

    pipeline: str
    entity: str
    name: str
    type: str
    severity: str
    table: str
    layer: str
    partition: str | None
    columns: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    where: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def qualified(self, table: str | None = None) -> sql.Composable:
        schema, _, name = (table or self.table).partition(".")
        return sql.Identifier(schema, name)


def _layer_of(table: str) -> str:
    schema = table.split(".", 1)[0]
    return {"staging": "staging", "mart": "mart"}.get(schema, "mart")


def parse_checks(
    pipeline: str, entity: str, doc: dict, source: str = "<inline>", entity_key: tuple[str, ...] = ()
) -> list[CheckSpec]:
    """Resolve defaults and validate a checks document; add the default reconciliations.

    A failing row is identified in samples by the check's ``key``, else (on the entity's
    staging table) by the entity's key, else by the checked columns: samples show keys,
    not the checked (possibly personal) values."""
    if not isinstance(doc, dict) or not isinstance(doc.get("checks", []), list):
        raise CheckDeclarationError(f"{source}: expected an object with a 'checks' list")
    staging_table = f"staging.{pipeline}_{entity}"
    declared = list(doc.get("checks", []))
    present = {c.get("between") for c in declared if isinstance(c, dict) and c.get("type") == "reconciliation"}
    if doc.get("default_reconciliations", True):
        declared += [{"type": "reconciliation", "between": b} for b in DEFAULT_RECONCILIATIONS if b not in present]
    specs, names = [], set()
    for i, c in enumerate(declared):
        where = f"{source}: check #{i + 1}"
        if not isinstance(c, dict) or c.get("type") not in TYPES:
            raise CheckDeclarationError(f"{where}: 'type' must be one of {sorted(TYPES)}, got {c!r}")
        ctype = c["type"]
        columns = tuple(c.get("columns") or ([c["column"]] if c.get("column") else []))
        if ctype in {"not_null", "unique", "accepted_values", "range", "relationships", "freshness"} and not columns:
            raise CheckDeclarationError(f"{where}: {ctype} needs 'column' or 'columns'")
        if ctype == "reconciliation" and c.get("between") not in RECONCILIATIONS:
            raise CheckDeclarationError(f"{where}: reconciliation 'between' must be one of {sorted(RECONCILIATIONS)}")
        if ctype == "expression" and not c.get("expression"):
            raise CheckDeclarationError(f"{where}: expression needs 'expression'")
        if ctype == "relationships" and not (c.get("to_table") and c.get("to_column")):
            raise CheckDeclarationError(f"{where}: relationships needs 'to_table' and 'to_column'")
        severity = c.get("severity", "error")
        if severity not in ("error", "warn"):
            raise CheckDeclarationError(f"{where}: severity must be 'error' or 'warn'")
        suffix = c.get("between") if ctype == "reconciliation" else "_".join(columns)
        name = c.get("name") or "_".join(p for p in (ctype, suffix) if p)
        if name in names:
            raise CheckDeclarationError(f"{where}: duplicate check name {name!r} (set 'name')")
        names.add(name)
        table = c.get("table") or staging_table
        layer = c.get("layer") or ("raw" if ctype == "schema_drift" or c.get("between") == "raw_vs_staged" else _layer_of(table))
        specs.append(CheckSpec(
            pipeline=pipeline, entity=entity, name=name, type=ctype, severity=severity, table=table, layer=layer,
            partition=c.get("partition", "ds"), columns=columns,
            key=tuple(c.get("key") or (entity_key if table == staging_table else ()) or columns),
            where=c.get("where"), options=c,
        ))
    return specs


def load_checks(schemas_dir: Path, pipeline: str, entities: dict[str, tuple[str, ...]]) -> list[CheckSpec]:
    """Every entity's checks (an entity without a file gets the default reconciliations);
    ``entities`` maps each entity name to its key."""
    specs = []
    for entity, key in entities.items():
        path = schemas_dir / pipeline / f"{entity}.checks.json"
        doc = {"checks": []}
        if path.is_file():
            try:
                doc = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise CheckDeclarationError(f"{path}: not valid JSON: {exc}") from None
        specs.extend(parse_checks(pipeline, entity, doc, str(path), tuple(key)))
    return specs


def _scope(spec: CheckSpec) -> sql.Composable:
    """SELECT * of the checked table restricted to the ds partition and the ``where`` filter."""
    conditions = []
    if spec.partition:
        conditions.append(sql.SQL("{} = %(ds)s").format(sql.Identifier(spec.partition)))
    if spec.where:
        conditions.append(sql.SQL("({})").format(sql.SQL(spec.where)))
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    return sql.SQL("SELECT * FROM {} WHERE {}").format(spec.qualified(), where)


def _ids(names) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _failing(spec: CheckSpec) -> tuple[sql.Composable, dict]:
    """The SELECT of failing rows (key columns) from ``scope``, and its parameters."""
    cols, params = spec.columns, {}
    keys = _ids(spec.key or cols)
    col = sql.Identifier(cols[0]) if cols else None
    if spec.type == "not_null":
        pred = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c in cols)
        return sql.SQL("SELECT {} FROM scope WHERE {}").format(keys, pred), params
    if spec.type == "unique":
        return sql.SQL(
            "SELECT {k} FROM (SELECT {k}, count(*) OVER (PARTITION BY {c}) AS n FROM scope) d "
            "WHERE n > 1 AND NOT ({nulls})"
        ).format(k=keys, c=_ids(cols), nulls=sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c in cols)), params
    if spec.type == "accepted_values":
        params["values"] = [str(v) for v in spec.options.get("values", [])]
        return sql.SQL("SELECT {} FROM scope WHERE {c} IS NOT NULL AND {c}::text <> ALL(%(values)s::text[])").format(
            keys, c=col), params
    if spec.type == "range":
        preds = []
        if spec.options.get("min") is not None:
            params["min"] = spec.options["min"]
            preds.append(sql.SQL("{} < %(min)s").format(col))
        if spec.options.get("max") is not None:
            params["max"] = spec.options["max"]
            preds.append(sql.SQL("{} > %(max)s").format(col))
        if not preds:
            raise CheckDeclarationError(f"{spec.entity}.{spec.name}: range needs 'min' and/or 'max'")
        return sql.SQL("SELECT {} FROM scope WHERE {}").format(keys, sql.SQL(" OR ").join(preds)), params
    if spec.type == "expression":
        return sql.SQL("SELECT {} FROM scope WHERE NOT coalesce(({}), false)").format(
            keys, sql.SQL(spec.options["expression"])), params
    if spec.type == "relationships":
        return sql.SQL(
            "SELECT {k} FROM scope s WHERE s.{c} IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM {t} p WHERE p.{tc} = s.{c})"
        ).format(k=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(k)) for k in spec.key or cols),
                 c=col, t=spec.qualified(spec.options["to_table"]), tc=sql.Identifier(spec.options["to_column"])), params
    raise CheckDeclarationError(f"{spec.type} is not a row-level SQL check")


def row_check_query(spec: CheckSpec, ds) -> tuple[sql.Composable, dict]:
    """One query: (failing_count, total_count, failing sample as jsonb)."""
    failing, params = _failing(spec)
    query = sql.SQL(
        "WITH scope AS ({scope}), failing AS ({failing}) "
        "SELECT (SELECT count(*) FROM failing), (SELECT count(*) FROM scope), "
        "(SELECT coalesce(jsonb_agg(to_jsonb(f)), '[]'::jsonb) FROM (SELECT * FROM failing LIMIT {n}) f)"
    ).format(scope=_scope(spec), failing=failing, n=sql.Literal(SAMPLE_SIZE))
    return query, {**params, "ds": ds}


def freshness_query(spec: CheckSpec, ds) -> tuple[sql.Composable, dict]:
    """(newest value, age in hours at the end of ds)."""
    query = sql.SQL(
        "WITH scope AS ({scope}) SELECT max({c})::text, "
        "extract(epoch FROM (%(ds)s::date + 1)::timestamptz - max({c})) / 3600.0 FROM scope"
    ).format(scope=_scope(spec), c=sql.Identifier(spec.columns[0]))
    return query, {"ds": ds}


def history_query(spec: CheckSpec, ds) -> tuple[sql.Composable, dict]:
    """Row counts of the ds partition and of the previous ``window_days`` partitions, one row each."""
    if not spec.partition:
        raise CheckDeclarationError(f"{spec.entity}.{spec.name}: row_count_anomaly needs a partition column")
    part = sql.Identifier(spec.partition)
    where = sql.SQL(" AND ({})").format(sql.SQL(spec.where)) if spec.where else sql.SQL("")
    query = sql.SQL(
        "SELECT {p}::date, count(*) FROM {t} WHERE {p} BETWEEN %(ds)s::date - %(window)s AND %(ds)s{w} "
        "GROUP BY {p} ORDER BY {p}"
    ).format(p=part, t=spec.qualified(), w=where)
    return query, {"ds": ds, "window": int(spec.options.get("window_days", 14))}


def staging_vs_mart_query(spec: CheckSpec, ds, staging_table: str) -> tuple[sql.Composable, dict]:
    """Keys of the ds's staging partition missing from the mart, and (unless direction is
    'staging_in_mart') mart rows of the ds without a staging key: (failing, total, sample)."""
    keys = _ids(spec.key)
    schema, _, name = staging_table.partition(".")
    both = spec.options.get("direction", "both") == "both"
    mart_scope = _scope(spec)
    query = sql.SQL(
        "WITH stg AS (SELECT DISTINCT {k} FROM {st} WHERE ds = %(ds)s), mart AS (SELECT {k} FROM ({ms}) m), "
        "failing AS ((SELECT 'missing in mart' AS problem, * FROM (SELECT * FROM stg EXCEPT SELECT * FROM mart) a) "
        "{extra}) "
        "SELECT (SELECT count(*) FROM failing), (SELECT count(*) FROM stg), "
        "(SELECT coalesce(jsonb_agg(to_jsonb(f)), '[]'::jsonb) FROM (SELECT * FROM failing LIMIT {n}) f)"
    ).format(
        k=keys, st=sql.Identifier(schema, name), ms=mart_scope, n=sql.Literal(SAMPLE_SIZE),
        extra=sql.SQL("UNION ALL (SELECT 'not in staging', * FROM (SELECT * FROM mart EXCEPT SELECT * FROM stg) b)")
        if both else sql.SQL(""),
    )
    return query, {"ds": ds}
