"""The day's Excel data-quality workbook, ``reports/dq/ds=<ds>/dq_report_<ds>.xlsx``, from the warehouse.

Built only from ``etl.dq_*`` (the current decision of every audit and mart build of every
enabled pipeline, and their results) and the warehouse, never from an older workbook; written
atomically to the lake. Rebuilding it gives the same numbers. Every enabled pipeline is in it:
one not recorded yet for the ds is listed as such, so a partial report says so.
"""
from __future__ import annotations

import datetime as dt
from importlib import metadata

from psycopg2.extras import RealDictCursor

from reports.dq_report import ReportData, build_workbook
from targets import LakeTarget, lake_key
from workflows import layout, pipelines, tasklogs, warehouse
from workflows.config import quality as quality_config

_CHECKS = """
SELECT r.pipeline, r.step, r.entity, r.layer, r.check_name, r.check_type, r.columns, r.severity, r.status,
       r.observed, r.threshold, r.failing_count, r.total_count,
       CASE WHEN r.total_count > 0 THEN r.failing_count::float / r.total_count END AS failing_pct,
       r.message, r.checked_table, r.run_id, r.failing_sample
  FROM etl.dq_results r JOIN etl.dq_latest_runs l USING (ds, pipeline, run_id)
 WHERE r.ds = %(ds)s AND r.pipeline = ANY(%(pipelines)s)
 ORDER BY CASE r.status WHEN 'error' THEN 0 WHEN 'fail' THEN 1 WHEN 'warn' THEN 2 ELSE 3 END,
          r.pipeline, r.step, r.entity, r.check_name
"""
_DECISIONS = """
SELECT pipeline, step, scope, outcome, blocking, message, rows, run_id
  FROM etl.dq_decisions
 WHERE ds = %(ds)s AND pipeline = ANY(%(pipelines)s)
 ORDER BY pipeline, step, scope
"""
_FLOW = """
SELECT f.pipeline, f.entity, f.raw_records, f.valid_rows, f.quarantined, f.staging_rows
  FROM etl.dq_row_flow f JOIN etl.dq_latest_runs l USING (ds, pipeline, run_id)
 WHERE f.ds = %(ds)s AND f.pipeline = ANY(%(pipelines)s) ORDER BY f.pipeline, f.entity
"""
_QUARANTINE = """
SELECT q.pipeline, q.entity, q.rule, q.reason, q.records, q.sample
  FROM etl.dq_quarantine q JOIN etl.dq_latest_runs l USING (ds, pipeline, run_id)
 WHERE q.ds = %(ds)s AND q.pipeline = ANY(%(pipelines)s)
 ORDER BY q.pipeline, q.entity, q.records DESC, q.rule, q.reason
"""
_TASK_RUNS = """
SELECT task_family, pipeline, count(*) FILTER (WHERE status = 'success') AS succeeded,
       count(*) FILTER (WHERE status = 'failed') AS failed, sum(rows_out) AS rows_out,
       sum(rows_quarantined) AS rows_quarantined, round(sum(seconds)::numeric, 2) AS seconds,
       max(finished_at) AS last_finished_at,
       (array_agg(log_key ORDER BY finished_at DESC) FILTER (WHERE status = 'failed' AND log_key IS NOT NULL))[1]
           AS last_failed_log
  FROM etl.task_runs WHERE ds = %(ds)s
 GROUP BY task_family, pipeline ORDER BY pipeline NULLS FIRST, task_family
"""
_TREND = """
WITH runs AS (SELECT * FROM etl.dq_latest_runs
               WHERE ds <= %(ds)s AND ds > %(ds)s::date - %(days)s AND pipeline = ANY(%(pipelines)s)),
pass AS (
    SELECT r.ds, r.pipeline, r.entity, avg((r.status = 'pass')::int)::float AS pass_rate
      FROM etl.dq_results r JOIN runs USING (ds, pipeline, run_id)
     WHERE r.step = 'audit'
     GROUP BY r.ds, r.pipeline, r.entity
)
SELECT p.ds, p.pipeline, p.entity, p.pass_rate, f.valid_rows, f.staging_rows
  FROM pass p
  LEFT JOIN runs ON runs.ds = p.ds AND runs.pipeline = p.pipeline AND runs.step = 'audit' AND runs.scope = p.entity
  LEFT JOIN etl.dq_row_flow f ON f.run_id = runs.run_id AND f.pipeline = p.pipeline AND f.entity = p.entity
 ORDER BY p.ds, p.pipeline, p.entity
"""


def project_version() -> str:
    try:
        return metadata.version("luigi-warehouse")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _with_log_paths(run: dict, ds: dt.date) -> dict:
    """A task-run group with where its task logs are in the lake (folder, newest failed run)."""
    folder = lake_key("logs", run["pipeline"] or tasklogs.NO_PIPELINE, run["task_family"], ds, "")
    failed = run.pop("last_failed_log")
    return {**run, "logs": tasklogs.lake_path(folder) + "/", "last_failed_log": failed and tasklogs.lake_path(failed)}


def _with_marts(flow: list[dict], decisions: list[dict]) -> list[dict]:
    """Row flow rows with the marts each entity feeds first (their build outcome and rows)."""
    builds = {(d["pipeline"], d["scope"]): d for d in decisions if d["step"] == "mart"}
    out = []
    for f in flow:
        decl = pipelines.PIPELINES.get(f["pipeline"])
        marts = [m.name for m in decl.marts.values() if m.entities and m.entities[0] == f["entity"]] if decl else []
        done = [builds.get((f["pipeline"], m)) for m in marts]
        published = [d for d in done if d and d["outcome"] == "published"]
        entity = decl.entities.get(f["entity"]) if decl else None
        out.append({**f, "unit": ("records" if entity.format == "json" else "lines") if entity else "units",
                    "mart_table": ", ".join(marts) or None,
                    "mart_rows": sum(d["rows"] or 0 for d in published) if marts else None,
                    "mart_outcome": ", ".join(sorted({d["outcome"] if d else "not built" for d in done})) or None})
    return out


def read_report_data(ds: dt.date) -> ReportData:
    """Everything the workbook shows, read from the warehouse."""
    enabled = [p.name for p in pipelines.enabled()]
    params = {"ds": ds, "days": quality_config().report_history_days, "pipelines": enabled}
    conn = warehouse.connect()
    try:
        with conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

            def rows(query):
                cur.execute(query, params)
                return [dict(r) for r in cur.fetchall()]

            decisions = rows(_DECISIONS)
            return ReportData(
                ds=ds, generated_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), version=project_version(),
                pipelines=enabled, decisions=decisions, checks=rows(_CHECKS),
                flow=_with_marts(rows(_FLOW), decisions), quarantine=rows(_QUARANTINE), trend=rows(_TREND),
                task_runs=[_with_log_paths(r, ds) for r in rows(_TASK_RUNS)],
            )
    finally:
        conn.close()


def report_target(ds: dt.date) -> LakeTarget:
    return layout.report(ds)


def write_report(ds: dt.date) -> ReportData:
    """Build the workbook for ds from the warehouse and write it to the lake atomically."""
    data = read_report_data(ds)
    with report_target(ds).writing() as path:
        build_workbook(data).save(path)
    return data
