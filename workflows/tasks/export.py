"""Export: the ds's rows of every mart of a pipeline as JSON files under ``exports/<pipeline>/ds=<ds>/``.

One ``<mart>.json`` per mart (``{pipeline, mart, ds, columns, records, row_count}``,
records in primary-key order, streamed from a server-side cursor), then
``manifest.json`` listing them, then the partition marker: a consumer that sees
the manifest sees complete files. Read in one REPEATABLE READ snapshot; files
are rewritten whole and hold no timestamps, so a re-run writes the same bytes.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any, TextIO

from psycopg2 import sql

from workflows import layout, warehouse
from workflows.tasks.base import PipelineTask, input_targets
from workflows.tasks.mart import Mart

FETCH_ROWS = 10_000


def _json_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def primary_key(cur, table: str) -> list[str]:
    """Primary-key columns of ``mart.<table>``, in key order (the export's row order)."""
    cur.execute(warehouse.read_sql("exports/primary_key.sql"), {"table": f"mart.{table}"})
    return [name for (name,) in cur.fetchall()]


def write_mart(cur, pipeline: str, table: str, ds: dt.date, out: TextIO) -> int:
    """Stream ``mart.<table>``'s rows for ds into ``out`` as one JSON document; return the row count."""
    order = primary_key(cur, table)
    query = sql.SQL("SELECT * FROM {} WHERE ds = %(ds)s ORDER BY {}").format(
        sql.Identifier("mart", table), sql.SQL(", ").join(map(sql.Identifier, order)))
    count = 0
    with cur.connection.cursor(name=f"export_{table}") as rows:
        rows.execute(query, {"ds": ds})
        batch = rows.fetchmany(FETCH_ROWS)  # a named cursor knows its columns after the first fetch
        columns = [c.name for c in rows.description]
        head = json.dumps({"pipeline": pipeline, "mart": table, "ds": str(ds), "columns": columns})
        out.write(head[:-1] + ', "records": [')
        while batch:
            for row in batch:
                out.write(("\n" if count == 0 else ",\n") + json.dumps(dict(zip(columns, row)), default=_json_value))
                count += 1
            batch = rows.fetchmany(FETCH_ROWS)
    out.write(f'\n], "row_count": {count}}}\n')
    return count


def export_marts(pipeline: str, marts: list[str], ds: dt.date, cur) -> int:
    """Write every mart's file, then the manifest; return the total rows exported."""
    files = []
    for table in marts:
        target = layout.export(pipeline, ds, f"{table}.json")
        with target.writing() as path, open(path, "w", encoding="utf-8") as out:
            count = write_mart(cur, pipeline, table, ds, out)
        files.append({"mart": table, "file": f"{table}.json", "row_count": count})
    manifest = {"pipeline": pipeline, "ds": str(ds), "files": files}
    layout.export(pipeline, ds, "manifest.json").write_bytes(json.dumps(manifest, indent=1).encode())
    return sum(f["row_count"] for f in files)


class Export(PipelineTask):
    """Every mart of the pipeline for ds -> JSON files in the lake; a marker after the files."""

    def requires(self):
        return [Mart(date=self.date, pipeline=self.pipeline, mart=m) for m in self.decl.marts]

    def output(self):
        return layout.marker(f"export/{self.pipeline}", self.date, "Export", lambda: input_targets(self))

    def run(self):
        with warehouse.transaction() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            rows = export_marts(self.pipeline, list(self.decl.marts), self.date, cur)
            self.output().write(cur, rows)
        self.report(f"{rows} rows exported to exports/{self.pipeline}/ds={self.date}/", 100)
