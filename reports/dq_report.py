"""The Excel data-quality workbook, built from plain rows (no database, no Luigi here).

``build_workbook(data)`` takes a ``ReportData`` read from ``etl.dq_*`` and returns an
openpyxl Workbook with sheets Summary, Checks, Failing samples, Quarantine,
Reconciliation, Trend and About. Every number is written as a value (no formulas),
so what a person or a test reads is there without Excel recalculating.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, DataBarRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

STATUSES = ("pass", "warn", "fail", "error")
FILLS = {
    "pass": PatternFill("solid", fgColor="C6EFCE"),
    "warn": PatternFill("solid", fgColor="FFEB9C"),
    "fail": PatternFill("solid", fgColor="FFC7CE"),
    "error": PatternFill("solid", fgColor="FF9999"),
    "none": PatternFill("solid", fgColor="EDEDED"),
}
RANK = {"none": -1, "pass": 0, "warn": 1, "fail": 2, "error": 3}
LAYERS = ("raw", "staging", "mart")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
CHECK_COLUMNS = ("pipeline", "entity", "layer", "check_name", "check_type", "columns", "severity", "status",
                 "observed", "threshold", "failing_count", "total_count", "failing_pct", "message", "run_id")
FLOW_COLUMNS = ("pipeline", "entity", "raw_records", "valid_rows", "quarantined", "staging_rows", "mart_table", "mart_rows")


@dataclass
class ReportData:
    ds: dt.date
    generated_at: dt.datetime
    version: str
    runs: list[dict]          # pipeline, run_id, checked_at
    checks: list[dict]        # CHECK_COLUMNS (+ failing_sample)
    flow: list[dict]          # FLOW_COLUMNS
    quarantine: list[dict]    # pipeline, entity, rule, reason, records, sample
    trend: list[dict] = field(default_factory=list)  # ds, pipeline, entity, pass_rate, valid_rows, staging_rows
    task_runs: list[dict] = field(default_factory=list)  # etl.task_runs per task family and pipeline for ds


def overall_status(checks: list[dict]) -> str:
    worst = max((RANK[c["status"]] for c in checks), default=-1)
    return {-1: "no checks", 0: "PASS", 1: "WARN", 2: "FAIL", 3: "FAIL"}[worst]


def _header(ws, row: int, names, col: int = 1) -> None:
    for i, name in enumerate(names):
        cell = ws.cell(row=row, column=col + i, value=name)
        cell.font = BOLD
        cell.fill = PatternFill("solid", fgColor="DDEBF7")


def _widths(ws, widths: dict[str, int]) -> None:
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width


def _table(ws, name: str, first_row: int, ncols: int, nrows: int) -> None:
    """An Excel table (filters, banded rows) over a header + nrows block."""
    if nrows == 0:
        return
    ref = f"A{first_row}:{get_column_letter(ncols)}{first_row + nrows}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)


def _summary(wb: Workbook, data: ReportData) -> None:
    ws = wb.active
    ws.title = "Summary"
    counts = {s: sum(c["status"] == s for c in data.checks) for s in STATUSES}
    status = overall_status(data.checks)
    ws["A1"] = f"Data-quality report — ds {data.ds}"
    ws["A1"].font = TITLE
    ws["A3"], ws["B3"] = "Overall status", status
    ws["B3"].font = BOLD
    ws["B3"].fill = FILLS[{"PASS": "pass", "WARN": "warn", "FAIL": "fail"}.get(status, "none")]
    ws["A4"], ws["B4"] = "Checks run", len(data.checks)
    for i, s in enumerate(STATUSES):
        ws.cell(row=5 + i, column=1, value=s)
        ws.cell(row=5 + i, column=2, value=counts[s]).fill = FILLS[s]

    # ── status matrix: pipeline × layer, worst status per cell ──
    pipelines = sorted({c["pipeline"] for c in data.checks} | {f["pipeline"] for f in data.flow})
    row = 10
    ws.cell(row=row, column=1, value="Status by pipeline and layer").font = BOLD
    _header(ws, row + 1, ["pipeline", *LAYERS])
    for i, p in enumerate(pipelines):
        ws.cell(row=row + 2 + i, column=1, value=p)
        for j, layer in enumerate(LAYERS):
            cells = [c["status"] for c in data.checks if c["pipeline"] == p and c["layer"] == layer]
            worst = max(cells, key=RANK.get, default="none")
            cell = ws.cell(row=row + 2 + i, column=2 + j, value=worst if cells else "—")
            cell.fill = FILLS[worst]
            cell.alignment = Alignment(horizontal="center")

    # ── row flow per entity ──
    row = row + 3 + len(pipelines)
    ws.cell(row=row, column=1, value="Row flow: raw → valid → quarantined → staging → mart").font = BOLD
    _header(ws, row + 1, FLOW_COLUMNS)
    for i, f in enumerate(data.flow):
        for j, name in enumerate(FLOW_COLUMNS):
            ws.cell(row=row + 2 + i, column=1 + j, value=f[name])

    # ── chart data + bar chart: check statuses by pipeline ──
    row = row + 3 + len(data.flow)
    ws.cell(row=row, column=1, value="Check statuses by pipeline").font = BOLD
    _header(ws, row + 1, ["pipeline", *STATUSES])
    for i, p in enumerate(pipelines):
        ws.cell(row=row + 2 + i, column=1, value=p)
        for j, s in enumerate(STATUSES):
            ws.cell(row=row + 2 + i, column=2 + j, value=sum(c["pipeline"] == p and c["status"] == s for c in data.checks))
    if pipelines:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
        chart.title, chart.y_axis.title = "Checks by status", "checks"
        chart.add_data(Reference(ws, min_col=2, max_col=5, min_row=row + 1, max_row=row + 1 + len(pipelines)), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=row + 2, max_row=row + 1 + len(pipelines)))
        for series, colour in zip(chart.series, ("63BE7B", "FFD966", "F8696B", "C00000")):
            series.graphicalProperties.solidFill = colour
        chart.height, chart.width = 7.5, 14
        ws.add_chart(chart, "K3")
    _widths(ws, {"A": 22, "B": 14, "C": 14, "D": 14, "E": 14, "F": 14, "G": 22, "H": 12})


def _checks(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Checks")
    _header(ws, 1, CHECK_COLUMNS)
    for i, c in enumerate(data.checks, start=2):
        for j, name in enumerate(CHECK_COLUMNS, start=1):
            value = c.get(name)
            ws.cell(row=i, column=j, value=", ".join(value) if isinstance(value, (list, tuple)) else value)
        ws.cell(row=i, column=CHECK_COLUMNS.index("failing_pct") + 1).number_format = "0.0%"
    n = len(data.checks)
    _table(ws, "Checks", 1, len(CHECK_COLUMNS), n)
    ws.freeze_panes = "A2"
    if n:
        status_col = get_column_letter(CHECK_COLUMNS.index("status") + 1)
        for s in STATUSES:
            ws.conditional_formatting.add(f"{status_col}2:{status_col}{n + 1}",
                                          CellIsRule(operator="equal", formula=[f'"{s}"'], fill=FILLS[s]))
        pct = get_column_letter(CHECK_COLUMNS.index("failing_pct") + 1)
        ws.conditional_formatting.add(f"{pct}2:{pct}{n + 1}", DataBarRule(
            start_type="num", start_value=0, end_type="num", end_value=1, color="F8696B"))
    _widths(ws, {"A": 12, "B": 14, "C": 9, "D": 34, "E": 18, "F": 22, "G": 9, "H": 8, "I": 48, "J": 30,
                 "K": 9, "L": 9, "M": 9, "N": 40, "O": 26})


def _samples(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Failing samples")
    cols = ("pipeline", "entity", "check_name", "status", "sample_no", "failing_key (masked)")
    _header(ws, 1, cols)
    row = 2
    for c in data.checks:
        for k, sample in enumerate(c.get("failing_sample") or [], start=1):
            for j, v in enumerate((c["pipeline"], c["entity"], c["check_name"], c["status"], k,
                                   json.dumps(sample, ensure_ascii=False, default=str)), start=1):
                ws.cell(row=row, column=j, value=v)
            ws.cell(row=row, column=4).fill = FILLS.get(c["status"], FILLS["none"])
            row += 1
    ws.freeze_panes = "A2"
    _widths(ws, {"A": 12, "B": 14, "C": 34, "D": 8, "E": 10, "F": 90})


def _quarantine(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Quarantine")
    cols = ("pipeline", "entity", "rule", "reason", "records")
    ws["A1"] = "Quarantined records by entity and reason"
    ws["A1"].font = BOLD
    _header(ws, 2, cols)
    for i, q in enumerate(data.quarantine, start=3):
        for j, name in enumerate(cols, start=1):
            ws.cell(row=i, column=j, value=q[name])
    _table(ws, "QuarantineCounts", 2, len(cols), len(data.quarantine))
    row = len(data.quarantine) + 5
    ws.cell(row=row, column=1, value="Sample rows (masked)").font = BOLD
    _header(ws, row + 1, ("pipeline", "entity", "rule", "reason", "record"))
    row += 2
    for q in data.quarantine:
        for s in q.get("sample") or []:
            values = (q["pipeline"], q["entity"], q["rule"], s.get("reason"),
                      json.dumps(s.get("record"), ensure_ascii=False, default=str))
            for j, v in enumerate(values, start=1):
                ws.cell(row=row, column=j, value=v)
            row += 1
    ws.freeze_panes = "A3"
    _widths(ws, {"A": 12, "B": 14, "C": 20, "D": 60, "E": 90})


def _reconciliation(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Reconciliation")
    cols = ("pipeline", "entity", "raw_records", "valid_rows", "quarantined", "raw − valid − quarantined",
            "staging_rows", "valid − staging", "mart_table", "mart_rows")
    _header(ws, 1, cols)
    red = PatternFill("solid", fgColor="FFC7CE")
    for i, f in enumerate(data.flow, start=2):
        d1 = None if f["raw_records"] is None else f["raw_records"] - (f["valid_rows"] or 0) - (f["quarantined"] or 0)
        d2 = None if f["staging_rows"] is None else (f["valid_rows"] or 0) - f["staging_rows"]
        values = (f["pipeline"], f["entity"], f["raw_records"], f["valid_rows"], f["quarantined"], d1,
                  f["staging_rows"], d2, f["mart_table"], f["mart_rows"])
        for j, v in enumerate(values, start=1):
            cell = ws.cell(row=i, column=j, value=v)
            if j in (6, 8) and v:
                cell.fill = red
    row = len(data.flow) + 4
    ws.cell(row=row, column=1, value="Reconciliation checks").font = BOLD
    rc = ("pipeline", "entity", "check_name", "status", "observed", "threshold", "failing_count")
    _header(ws, row + 1, rc)
    for i, c in enumerate([c for c in data.checks if c["check_type"] == "reconciliation"], start=row + 2):
        for j, name in enumerate(rc, start=1):
            ws.cell(row=i, column=j, value=c[name])
        ws.cell(row=i, column=4).fill = FILLS.get(c["status"], FILLS["none"])
        if c["failing_count"]:
            ws.cell(row=i, column=7).fill = red
    ws.freeze_panes = "A2"
    _widths(ws, {"A": 12, "B": 14, "C": 26, "D": 12, "E": 44, "F": 26, "G": 13, "H": 16, "I": 22, "J": 10})


def _trend(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Trend")
    keys = sorted({(t["pipeline"], t["entity"]) for t in data.trend})
    dates = sorted({t["ds"] for t in data.trend})
    by = {(t["ds"], t["pipeline"], t["entity"]): t for t in data.trend}
    labels = [f"{p}.{e}" for p, e in keys]
    ws["A1"] = f"Pass rate per entity, last {len(dates)} dates"
    ws["A1"].font = BOLD
    _header(ws, 2, ["ds", *labels])
    second = len(dates) + 5
    ws.cell(row=second - 1, column=1, value="Valid (staged) rows per entity").font = BOLD
    _header(ws, second, ["ds", *labels])
    for i, d in enumerate(dates):
        ws.cell(row=3 + i, column=1, value=d)
        ws.cell(row=second + 1 + i, column=1, value=d)
        for j, k in enumerate(keys, start=2):
            t = by.get((d, *k))
            ws.cell(row=3 + i, column=j, value=t["pass_rate"] if t else None).number_format = "0%"
            ws.cell(row=second + 1 + i, column=j, value=t["valid_rows"] if t else None)
    if dates and keys:
        for title, top, anchor, y_title in (("Pass rate", 2, "B", "pass rate"), ("Valid rows", second, "B", "rows")):
            chart = LineChart()
            chart.title, chart.y_axis.title, chart.x_axis.title = title, y_title, "ds"
            chart.add_data(Reference(ws, min_col=2, max_col=1 + len(keys), min_row=top, max_row=top + len(dates)),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(dates)))
            chart.height, chart.width = 7.5, 16
            ws.add_chart(chart, f"{get_column_letter(len(keys) + 3)}{top}")
    ws.column_dimensions["A"].width = 12


def _about(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("About")
    rows = [("ds", str(data.ds)), ("generated_at (UTC)", data.generated_at.strftime("%Y-%m-%d %H:%M:%S")),
            ("project version", data.version)]
    rows += [(f"run id ({r['pipeline']})", r["run_id"]) for r in data.runs]
    ws["A1"] = "About this report"
    ws["A1"].font = TITLE
    for i, (k, v) in enumerate(rows, start=3):
        ws.cell(row=i, column=1, value=k).font = BOLD
        ws.cell(row=i, column=2, value=v)
    row = len(rows) + 4
    ws.cell(row=row, column=1, value="Legend").font = BOLD
    legend = {"pass": "the check held", "warn": "a warn-severity check failed (recorded, run continues)",
              "fail": "an error-severity check failed: the pipeline's Check task failed",
              "error": "the check itself could not run (treated as a failure)"}
    for i, (s, text) in enumerate(legend.items(), start=row + 1):
        ws.cell(row=i, column=1, value=s).fill = FILLS[s]
        ws.cell(row=i, column=2, value=text)
    row += len(legend) + 2
    ws.cell(row=row, column=1, value="Task runs for this ds (etl.task_runs)").font = BOLD
    cols = ("task_family", "pipeline", "succeeded", "failed", "rows_out", "rows_quarantined", "seconds", "last_finished_at",
            "logs", "last_failed_log")
    _header(ws, row + 1, cols)
    for i, r in enumerate(data.task_runs, start=row + 2):
        for j, name in enumerate(cols, start=1):
            value = r.get(name)
            if isinstance(value, dt.datetime):
                value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            ws.cell(row=i, column=j, value=float(value) if name == "seconds" and value is not None else value)
    row += len(data.task_runs) + 3
    ws.cell(row=row, column=1, value="Sheets").font = BOLD
    for i, name in enumerate(wb.sheetnames, start=row + 1):
        cell = ws.cell(row=i, column=1, value=name)
        cell.hyperlink = f"#'{name}'!A1"
        cell.font = Font(color="0563C1", underline="single")
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 70


def build_workbook(data: ReportData) -> Workbook:
    """The whole workbook for one ds."""
    wb = Workbook()
    for builder in (_summary, _checks, _samples, _quarantine, _reconciliation, _trend, _about):
        builder(wb, data)
    return wb
