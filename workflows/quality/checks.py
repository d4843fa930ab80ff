"""Data-quality check declarations and their set-based SQL.

Entity checks live beside the entity's schema (``schemas/<pipeline>/<entity>.checks.json``) and
run in the entity's audit, after its Load and before any mart that reads it; mart checks live
beside the mart's SQL (``sql/<pipeline>/<mart sql>.checks.json``) and run inside the mart's own
transaction, on its new state, before commit. Every entity also gets the default gates
(``workflows.quality.gates``). Each database check compiles to one query over the ds partition
of a table, returning (failing_count, total_count, sample of failing rows: their key and the
checked columns). Expressions and ``where`` filters are trusted snippets committed in the repo;
identifiers are quoted with psycopg2.sql and values bound as parameters.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg2 import sql

SAMPLE_SIZE = 5
SQL_TYPES = {"not_null", "unique", "accepted_values", "range", "expression", "relationships"}
LAKE_TYPES = {"schema_drift", "volume", "quarantine_share"}
TYPES = SQL_TYPES | LAKE_TYPES | {"freshness", "row_count_anomaly", "reconciliation"}
AUDIT_RECONCILIATIONS = {"raw_vs_staged", "parquet_vs_table", "parquet_keys_in_table"}
MART_RECONCILIATIONS = {"staging_vs_mart", "staged_rows_vs_mart_sum"}
RECONCILIATIONS = AUDIT_RECONCILIATIONS | MART_RECONCILIATIONS
VOLUME_RULES = {"staged_when_raw", "raw_present", "vs_history"}
NEEDS_COLUMNS = {"not_null", "unique", "accepted_values", "range", "relationships", "freshness"}


class CheckDeclarationError(ValueError):
    """A checks file is malformed; the message names the file and the check."""


@dataclass(frozen=True)
class CheckSpec:
    """One check, with defaults resolved. ``entity`` is the scope it is recorded under: the
    audited entity (step ``audit``) or the mart (step ``mart``)."""

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
    step: str = "audit"
    default: bool = False        # a default gate, not declared
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def qualified(self, table: str | None = None) -> sql.Composable:
        schema, _, name = (table or self.table).partition(".")
        return sql.Identifier(schema, name)

    @property
    def shown(self) -> tuple[str, ...]:
        """Columns a failing row shows in samples: its key, then the checked columns."""
        return tuple(dict.fromkeys((*self.key, *self.columns)))

    def tables(self) -> set[str]:
        """Every ``schema.table`` the check reads besides staging of its own scope (for ordering)."""
        return {t for t in (self.table, self.options.get("to_table")) if t}


def _layer_of(table: str) -> str:
    return "staging" if table.split(".", 1)[0] == "staging" else "mart"


def read_doc(path: Path) -> dict:
    """A checks file's JSON ({"checks": [...]}); no file = no declared checks."""
    if not path.is_file():
        return {"checks": []}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckDeclarationError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("checks", []), list):
        raise CheckDeclarationError(f"{path}: expected an object with a 'checks' list")
    return doc


def _validate(c: Any, where: str, step: str) -> None:
    if not isinstance(c, dict) or c.get("type") not in TYPES:
        raise CheckDeclarationError(f"{where}: 'type' must be one of {sorted(TYPES)}, got {c!r}")
    ctype = c["type"]
    if ctype in NEEDS_COLUMNS and not (c.get("columns") or c.get("column")):
        raise CheckDeclarationError(f"{where}: {ctype} needs 'column' or 'columns'")
    allowed = AUDIT_RECONCILIATIONS if step == "audit" else MART_RECONCILIATIONS
    if ctype == "reconciliation" and c.get("between") not in allowed:
        raise CheckDeclarationError(f"{where}: reconciliation 'between' must be one of {sorted(allowed)} in "
                                    f"{'an entity' if step == 'audit' else 'a mart'}'s checks")
    if ctype in LAKE_TYPES and step != "audit":
        raise CheckDeclarationError(f"{where}: {ctype} reads the entity's lake files: declare it beside the entity")
    if ctype == "volume" and c.get("rule") not in VOLUME_RULES:
        raise CheckDeclarationError(f"{where}: volume 'rule' must be one of {sorted(VOLUME_RULES)}")
    if ctype == "expression" and not c.get("expression"):
        raise CheckDeclarationError(f"{where}: expression needs 'expression'")
    if ctype == "relationships" and not (c.get("to_table") and c.get("to_column")):
        raise CheckDeclarationError(f"{where}: relationships needs 'to_table' and 'to_column'")
    if c.get("between") == "staged_rows_vs_mart_sum" and not c.get("entity"):
        raise CheckDeclarationError(f"{where}: staged_rows_vs_mart_sum needs 'entity' (the staged side)")
    if c.get("severity", "error") not in ("error", "warn"):
        raise CheckDeclarationError(f"{where}: severity must be 'error' or 'warn'")


def _name(c: dict) -> str:
    ctype = c["type"]
    columns = c.get("columns") or ([c["column"]] if c.get("column") else [])
    suffix = {"reconciliation": c.get("between"), "volume": c.get("rule")}.get(ctype, "_".join(columns))
    return c.get("name") or "_".join(p for p in (ctype, suffix) if p)


def parse_checks(pipeline: str, scope: str, doc: dict, source: str = "<inline>", *, step: str = "audit",
                 scope_key: tuple[str, ...] = (), table: str | None = None,
                 defaults: list[dict] | tuple = ()) -> list[CheckSpec]:
    """Validate a checks document and resolve its defaults.

    ``step`` 'audit': ``scope`` is an entity, checks read its staging table ``staging.<p>_<e>``
    (or another staging table) and the lake; ``defaults`` (the default gates) are added unless a
    declared check has the same name (it replaces the default; ``"enabled": false`` drops it).
    ``step`` 'mart': ``scope`` is a mart, checks read ``table`` (the file's ``table``, default
    ``mart.<mart>``) inside the mart's transaction. A failing row is shown by the check's ``key``,
    else the entity's key on its own staging table, else the checked columns; then the checked
    columns (personal ones masked when stored)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("checks", []), list):
        raise CheckDeclarationError(f"{source}: expected an object with a 'checks' list")
    home = f"staging.{pipeline}_{scope}" if step == "audit" else (table or doc.get("table") or f"mart.{scope}")
    declared = list(doc.get("checks", []))
    for i, c in enumerate(declared):
        _validate(c, f"{source}: check #{i + 1}", step)
    names = {_name(c) for c in declared}
    checks = [(c, False) for c in declared] + [(d, True) for d in defaults if _name(d) not in names]
    specs, seen = [], set()
    for i, (c, is_default) in enumerate(checks):
        where = f"{source}: check #{i + 1}"
        name = _name(c)
        if name in seen:
            raise CheckDeclarationError(f"{where}: duplicate check name {name!r} (set 'name')")
        seen.add(name)
        if c.get("enabled", True) is False:
            continue
        ctype = c["type"]
        columns = tuple(c.get("columns") or ([c["column"]] if c.get("column") else []))
        tbl = c.get("table") or home
        if step == "audit" and ctype in SQL_TYPES | {"freshness", "row_count_anomaly"}:
            for t in filter(None, (tbl, c.get("to_table"))):
                if not t.startswith("staging."):
                    raise CheckDeclarationError(
                        f"{where}: {name} reads {t}, which is not staging: an entity is audited before the marts "
                        f"are built, so declare it beside the mart (sql/{pipeline}/<mart>.checks.json)")
        lake_side = ctype in LAKE_TYPES or c.get("between") in AUDIT_RECONCILIATIONS
        layer = c.get("layer") or ("raw" if ctype == "schema_drift" or c.get("between") == "raw_vs_staged"
                                   else "staging" if lake_side else _layer_of(tbl))
        key = tuple(c.get("key") or (scope_key if tbl == home and step == "audit" else ()) or columns)
        specs.append(CheckSpec(
            pipeline=pipeline, entity=scope, name=name, type=ctype, severity=c.get("severity", "error"),
            table=tbl, layer=layer, partition=c.get("partition", "ds"), columns=columns, key=key,
            where=c.get("where"), step=step, default=is_default, options=c,
        ))
    return specs


# ── SQL ─────────────────────────────────────────────────────────────────────────

def _scope(spec: CheckSpec) -> sql.Composable:
    """SELECT * of the checked table restricted to the ds partition and the ``where`` filter."""
    conditions = []
    if spec.partition:
        conditions.append(sql.SQL("{} = %(ds)s").format(sql.Identifier(spec.partition)))
    if spec.where:
        conditions.append(sql.SQL("({})").format(sql.SQL(spec.where)))
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    return sql.SQL("SELECT * FROM {} WHERE {}").format(spec.qualified(), where)


def _ids(names, prefix: str | None = None) -> sql.Composable:
    if prefix:
        return sql.SQL(", ").join(sql.Identifier(prefix, n) for n in names)
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _shown(spec: CheckSpec, prefix: str | None = None) -> sql.Composable:
    return _ids(spec.shown, prefix) if spec.shown else sql.SQL("{}.*").format(sql.Identifier(prefix or "scope"))


def _failing(spec: CheckSpec) -> tuple[sql.Composable, dict]:
    """The SELECT of failing rows (key and checked columns) from ``scope``, and its parameters."""
    cols, params = spec.columns, {}
    shown = _shown(spec)
    col = sql.Identifier(cols[0]) if cols else None
    if spec.type == "not_null":
        pred = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c in cols)
        return sql.SQL("SELECT {} FROM scope WHERE {}").format(shown, pred), params
    if spec.type == "unique":
        return sql.SQL(
            "SELECT {k} FROM (SELECT scope.*, count(*) OVER (PARTITION BY {c}) AS dq_n FROM scope) scope "
            "WHERE dq_n > 1 AND NOT ({nulls})"
        ).format(k=shown, c=_ids(cols),
                 nulls=sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c in cols)), params
    if spec.type == "accepted_values":
        params["values"] = [str(v) for v in spec.options.get("values", [])]
        return sql.SQL("SELECT {} FROM scope WHERE {c} IS NOT NULL AND {c}::text <> ALL(%(values)s::text[])").format(
            shown, c=col), params
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
        return sql.SQL("SELECT {} FROM scope WHERE {}").format(shown, sql.SQL(" OR ").join(preds)), params
    if spec.type == "expression":
        return sql.SQL("SELECT {} FROM scope WHERE NOT coalesce(({}), false)").format(
            shown, sql.SQL(spec.options["expression"])), params
    if spec.type == "relationships":
        return sql.SQL(
            "SELECT {k} FROM scope s WHERE s.{c} IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM {t} p WHERE p.{tc} = s.{c})"
        ).format(k=_shown(spec, "s"), c=col, t=spec.qualified(spec.options["to_table"]),
                 tc=sql.Identifier(spec.options["to_column"])), params
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


def count_query(table: str, ds) -> tuple[sql.Composable, dict]:
    """Rows of ``table`` (schema.table) in partition ds."""
    schema, _, name = table.partition(".")
    return sql.SQL("SELECT count(*) FROM {} WHERE ds = %(ds)s").format(sql.Identifier(schema, name)), {"ds": ds}


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
    query = sql.SQL(
        "WITH stg AS (SELECT DISTINCT {k} FROM {st} WHERE ds = %(ds)s), mart AS (SELECT {k} FROM ({ms}) m), "
        "failing AS ((SELECT 'missing in mart' AS problem, * FROM (SELECT * FROM stg EXCEPT SELECT * FROM mart) a) "
        "{extra}) "
        "SELECT (SELECT count(*) FROM failing), (SELECT count(*) FROM stg), "
        "(SELECT coalesce(jsonb_agg(to_jsonb(f)), '[]'::jsonb) FROM (SELECT * FROM failing LIMIT {n}) f)"
    ).format(
        k=keys, st=sql.Identifier(schema, name), ms=_scope(spec), n=sql.Literal(SAMPLE_SIZE),
        extra=sql.SQL("UNION ALL (SELECT 'not in staging', * FROM (SELECT * FROM mart EXCEPT SELECT * FROM stg) b)")
        if both else sql.SQL(""),
    )
    return query, {"ds": ds}


def staged_rows_vs_mart_sum_query(spec: CheckSpec, ds, staging_table: str) -> tuple[sql.Composable, dict]:
    """(staged rows of the ds, the mart's sum of ``sum`` — or its row count — over its scope): both
    sides are scalars, so an empty side is a number (0), never a missing row."""
    schema, _, name = staging_table.partition(".")
    measure = (sql.SQL("coalesce(sum({}), 0)").format(sql.Identifier(spec.options["sum"]))
               if spec.options.get("sum") else sql.SQL("count(*)"))
    query = sql.SQL("SELECT (SELECT count(*) FROM {st} WHERE ds = %(ds)s), (SELECT {m} FROM ({ms}) m)").format(
        st=sql.Identifier(schema, name), m=measure, ms=_scope(spec))
    return query, {"ds": ds}


def load_checks(schemas_dir: Path, pipeline: str, entities: dict[str, tuple[str, ...]]) -> list[CheckSpec]:
    """Every entity's declared checks from ``<schemas_dir>/<pipeline>/<entity>.checks.json`` (``entities``
    maps each entity to its key). The default gates come with the entity's declaration:
    ``workflows.quality.declared.entity_specs``."""
    specs = []
    for entity, key in entities.items():
        path = Path(schemas_dir) / pipeline / f"{entity}.checks.json"
        specs.extend(parse_checks(pipeline, entity, read_doc(path), str(path), step="audit", scope_key=tuple(key)))
    return specs
