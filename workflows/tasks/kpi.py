"""KPIReport: the FakeStore KPI workbook of one ds, ``reports/kpi/ds=<ds>/kpi_<ds>.xlsx``.

Read from the marts (``mart.fact_sales``, ``mart.dim_product``) and the day's
fakestore check results by the SQL files in ``sql/reports/``; written atomically
to the lake with no wall-clock time in it (``reports.xlsx``), then marked done in
``etl.partition_markers``. Rebuilding it from the same marts gives the same bytes.
"""
from __future__ import annotations

import datetime as dt

import luigi
from psycopg2.extras import RealDictCursor

from reports.kpi_report import KPIData, build_workbook
from reports.xlsx import workbook_bytes
from targets import LakeTarget, lake_key
from workflows import layout, pipelines, warehouse
from workflows.quality.report_data import project_version
from workflows.tasks.base import UpstreamComplete, input_targets, report_status
from workflows.tasks.check import Check
from workflows.tasks.mart import Mart

PIPELINE = "fakestore"
TREND_DAYS = 30
TOP = 10


def kpi_target(ds: dt.date) -> LakeTarget:
    return layout.lake_target(lake_key("reports", "kpi", "", ds, f"kpi_{ds}.xlsx"))


def read_kpi_data(ds: dt.date) -> KPIData:
    """Everything the KPI workbook shows, read in one snapshot of the warehouse."""
    params = {"ds": ds, "days": TREND_DAYS, "top": TOP, "pipeline": PIPELINE}
    conn = warehouse.connect()
    try:
        with conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

            def rows(name: str) -> list[dict]:
                cur.execute(warehouse.read_sql(f"reports/{name}.sql"), params)
                return [dict(r) for r in cur.fetchall()]

            return KPIData(ds=ds, version=project_version(), headline=rows("kpi_headline")[0],
                           trend=rows("kpi_trend"), top_categories=rows("kpi_top_categories"),
                           top_products=rows("kpi_top_products"), histogram=rows("kpi_price_histogram"),
                           dq_status=rows("kpi_dq_status"))
    finally:
        conn.close()


class KPIReport(UpstreamComplete, luigi.Task):
    """The KPI workbook for one ds, after the FakeStore marts and checks."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")

    def requires(self):
        return [Mart(date=self.date, pipeline=PIPELINE, mart=m) for m in ("fact_sales", "dim_product")] + [
            Check(date=self.date, pipeline=PIPELINE)]

    def output(self):
        return layout.marker("report/kpi", self.date, "KPIReport", lambda: input_targets(self))

    def run(self):
        data = read_kpi_data(self.date)
        kpi_target(self.date).write_bytes(workbook_bytes(build_workbook(data), self.date))
        with warehouse.transaction() as cur:
            self.output().write(cur, data.headline["orders"])
        report_status(self, f"{kpi_target(self.date).path}: {data.headline['orders']} orders, "
                            f"revenue {data.headline['revenue']}", 100, out=data.headline["orders"])


def enabled() -> bool:
    """The KPI report exists where its pipeline runs."""
    return PIPELINE in {p.name for p in pipelines.enabled()}
