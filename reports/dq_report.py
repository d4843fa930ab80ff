"""The Excel data-quality workbook, built from plain rows (no database, no Luigi here).

``build_workbook(data)`` takes a ``ReportData`` read from ``etl.dq_*`` and returns an openpyxl
Workbook with sheets Summary (the day's story, ``reports.dq_summary``), Checks (blocking and
warning checks first), Failing samples (each sample shows the checked columns first, personal
fields masked), Quarantine, Reconciliation, Trend and About. Every number is written as a value
(no formulas), so what a person or a test reads is there without Excel recalculating; every
sheet prints to the page width.
"""
from __future__ import annotations

import datetime as dt
import json

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, DataBarRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from reports.dq_model import (BOLD, FILLS, LINK, STATUSES, TITLE, WRAP, ReportData, cell_value, fit_widths, header,
                              overall_status, printable)
from reports.dq_summary import build_summary

__all__ = ["ReportData", "build_workbook", "overall_status", "CHECK_COLUMNS", "FLOW_COLUMNS"]

CHECK_COLUMNS = ("status", "pipeline", "step", "entity", "check_name", "message", "observed", "threshold",
                 "failing_count", "total_count", "failing_pct", "check_type", "columns", "severity", "layer",
                 "checked_table", "run_id")
FLOW_COLUMNS = ("pipeline", "entity", "raw_records", "valid_rows", "quarantined", "staging_rows", "mart_table",
                "mart_rows")
NUMERIC = {"failing_count", "total_count", "failing_pct", "raw_records", "valid_rows", "quarantined", "staging_rows",
           "mart_rows", "records", "sample_no", "raw − valid − quarantined", "valid − staging", "succeeded", "failed",
           "rows_out", "rows_quarantined", "seconds"}


def _table(ws, name: str, first_row: int, ncols: int, nrows: int) -> None:
    """An Excel table (filters, banded rows) over a header + nrows block."""
    if nrows == 0:
        return
    ref = f"A{first_row}:{get_column_letter(ncols)}{first_row + nrows}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)


def _checks(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Checks")
    header(ws, 1, CHECK_COLUMNS, numeric=NUMERIC)
    for i, c in enumerate(data.checks, start=2):
        for j, name in enumerate(CHECK_COLUMNS, start=1):
            cell = ws.cell(row=i, column=j, value=cell_value(c.get(name)))
            if name == "message":
                cell.alignment = WRAP
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
    fit_widths(ws, maximum=40, fixed={"F": 60})
    printable(ws, title_rows="1:1")


def _sample_text(sample, columns) -> tuple[str, str]:
    """(checked columns as ``name=value``, the other fields) of one failing row."""
    if not isinstance(sample, dict):
        return "", json.dumps(sample, ensure_ascii=False, default=str)
    checked = [f"{c}={json.dumps(sample[c], ensure_ascii=False, default=str)}" for c in columns or [] if c in sample]
    rest = {k: v for k, v in sample.items() if k not in (columns or [])}
    return ", ".join(checked), json.dumps(rest, ensure_ascii=False, default=str) if rest else ""


def _samples(wb: Workbook, data: ReportData) -> dict:
    """The Failing samples sheet; returns (pipeline, step, scope, check) -> the row of its first sample."""
    ws = wb.create_sheet("Failing samples")
    cols = ("pipeline", "entity", "check_name", "status", "sample_no", "checked columns (masked)", "key (masked)")
    header(ws, 1, cols, numeric=NUMERIC)
    row, first = 2, {}
    for c in data.checks:
        for k, sample in enumerate(c.get("failing_sample") or [], start=1):
            first.setdefault((c["pipeline"], c.get("step"), c["entity"], c["check_name"]), row)
            checked, key = _sample_text(sample, c.get("columns"))
            for j, v in enumerate((c["pipeline"], c["entity"], c["check_name"], c["status"], k, checked, key), start=1):
                ws.cell(row=row, column=j, value=cell_value(v))
            ws.cell(row=row, column=4).fill = FILLS.get(c["status"], FILLS["none"])
            row += 1
    ws.freeze_panes = "A2"
    fit_widths(ws, maximum=70)
    printable(ws, title_rows="1:1")
    return first


def _quarantine(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Quarantine")
    cols = ("pipeline", "entity", "rule", "reason", "records")
    ws["A1"] = "Quarantined records by entity and reason"
    ws["A1"].font = BOLD
    header(ws, 2, cols, numeric=NUMERIC)
    for i, q in enumerate(data.quarantine, start=3):
        for j, name in enumerate(cols, start=1):
            ws.cell(row=i, column=j, value=cell_value(q[name]))
    _table(ws, "QuarantineCounts", 2, len(cols), len(data.quarantine))
    row = len(data.quarantine) + 5
    ws.cell(row=row, column=1, value="Sample rows (masked)").font = BOLD
    header(ws, row + 1, ("pipeline", "entity", "rule", "reason", "record"))
    row += 2
    for q in data.quarantine:
        for s in q.get("sample") or []:
            values = (q["pipeline"], q["entity"], q["rule"], s.get("reason"),
                      json.dumps(s.get("record"), ensure_ascii=False, default=str))
            for j, v in enumerate(values, start=1):
                ws.cell(row=row, column=j, value=cell_value(v))
            row += 1
    ws.freeze_panes = "A3"
    fit_widths(ws, maximum=70)
    printable(ws, title_rows="2:2")


def _reconciliation(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Reconciliation")
    cols = ("pipeline", "entity", "raw_records", "valid_rows", "quarantined", "raw − valid − quarantined",
            "staging_rows", "valid − staging", "mart_table", "mart_rows", "mart_outcome")
    header(ws, 1, cols, numeric=NUMERIC)
    red = PatternFill("solid", fgColor="FFC7CE")
    for i, f in enumerate(data.flow, start=2):
        d1 = None if f["raw_records"] is None else f["raw_records"] - (f["valid_rows"] or 0) - (f["quarantined"] or 0)
        d2 = None if f["staging_rows"] is None else (f["valid_rows"] or 0) - f["staging_rows"]
        values = (f["pipeline"], f["entity"], f["raw_records"], f["valid_rows"], f["quarantined"], d1,
                  f["staging_rows"], d2, f.get("mart_table"), f.get("mart_rows"), f.get("mart_outcome"))
        for j, v in enumerate(values, start=1):
            cell = ws.cell(row=i, column=j, value=cell_value(v))
            if j in (6, 8) and v:
                cell.fill = red
    row = len(data.flow) + 4
    ws.cell(row=row, column=1, value="Reconciliation checks").font = BOLD
    rc = ("pipeline", "entity", "check_name", "status", "observed", "threshold", "failing_count")
    header(ws, row + 1, rc, numeric=NUMERIC)
    for i, c in enumerate([c for c in data.checks if c["check_type"] == "reconciliation"], start=row + 2):
        for j, name in enumerate(rc, start=1):
            ws.cell(row=i, column=j, value=cell_value(c[name]))
        ws.cell(row=i, column=4).fill = FILLS.get(c["status"], FILLS["none"])
        if c["failing_count"]:
            ws.cell(row=i, column=7).fill = red
    ws.freeze_panes = "A2"
    fit_widths(ws, maximum=50)
    printable(ws, title_rows="1:1")


def _trend(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("Trend")
    keys = sorted({(t["pipeline"], t["entity"]) for t in data.trend})
    dates = sorted({t["ds"] for t in data.trend})
    by = {(t["ds"], t["pipeline"], t["entity"]): t for t in data.trend}
    labels = [f"{p}.{e}" for p, e in keys]
    ws["A1"] = f"Pass rate per entity, last {len(dates)} dates"
    ws["A1"].font = BOLD
    header(ws, 2, ["ds", *labels])
    second = len(dates) + 5
    ws.cell(row=second - 1, column=1, value="Valid (staged) rows per entity").font = BOLD
    header(ws, second, ["ds", *labels])
    for i, d in enumerate(dates):
        ws.cell(row=3 + i, column=1, value=d)
        ws.cell(row=second + 1 + i, column=1, value=d)
        for j, k in enumerate(keys, start=2):
            t = by.get((d, *k))
            ws.cell(row=3 + i, column=j, value=t["pass_rate"] if t else None).number_format = "0%"
            ws.cell(row=second + 1 + i, column=j, value=t["valid_rows"] if t else None)
    if dates and keys:
        for title, top, y_title in (("Pass rate", 2, "pass rate"), ("Valid rows", second, "rows")):
            chart = LineChart()
            chart.title, chart.y_axis.title, chart.x_axis.title = title, y_title, "ds"
            chart.y_axis.scaling.min = 0
            chart.x_axis.delete = chart.y_axis.delete = False
            chart.add_data(Reference(ws, min_col=2, max_col=1 + len(keys), min_row=top, max_row=top + len(dates)),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(dates)))
            chart.height, chart.width = 7.5, 16
            ws.add_chart(chart, f"{get_column_letter(len(keys) + 3)}{top}")
    ws.column_dimensions["A"].width = 12
    for j, label in enumerate(labels, start=2):
        ws.column_dimensions[get_column_letter(j)].width = max(8, min(40, len(label) + 2))
    printable(ws)


def _about(wb: Workbook, data: ReportData) -> None:
    ws = wb.create_sheet("About")
    rows = [("ds", str(data.ds)), ("generated_at (UTC)", data.generated_at.strftime("%Y-%m-%d %H:%M:%S")),
            ("project version", data.version), ("pipelines covered", ", ".join(data.pipelines))]
    rows += [(f"run id ({d['pipeline']} {d['step']} {d['scope']})".replace("  ", " ").replace(" )", ")"), d["run_id"])
             for d in data.decisions if d["step"] in ("audit", "mart")]
    ws["A1"] = "About this report"
    ws["A1"].font = TITLE
    for i, (k, v) in enumerate(rows, start=3):
        ws.cell(row=i, column=1, value=k).font = BOLD
        ws.cell(row=i, column=2, value=v)
    row = len(rows) + 4
    ws.cell(row=row, column=1, value="Legend").font = BOLD
    legend = {"pass": "the check held", "warn": "a warn-severity check failed (recorded; the marts are published)",
              "fail": "an error-severity check failed: the entity's marts are held back (audit), or the mart's "
                      "transaction is rolled back (mart check); the pipeline's Check fails, RunAll exits 30",
              "error": "the check itself could not run: treated as a failure"}
    for i, (s, text) in enumerate(legend.items(), start=row + 1):
        ws.cell(row=i, column=1, value=s).fill = FILLS[s]
        ws.cell(row=i, column=2, value=text)
    row += len(legend) + 2
    ws.cell(row=row, column=1, value="Task runs for this ds (etl.task_runs)").font = BOLD
    cols = ("task_family", "pipeline", "succeeded", "failed", "rows_out", "rows_quarantined", "seconds", "last_finished_at",
            "logs", "last_failed_log")
    header(ws, row + 1, cols, numeric=NUMERIC)
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
        cell.font = LINK
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 70
    printable(ws)


def build_workbook(data: ReportData) -> Workbook:
    """The whole workbook for one ds."""
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    _checks(wb, data)
    first_samples = _samples(wb, data)
    build_summary(summary, data, first_samples)
    for builder in (_quarantine, _reconciliation, _trend, _about):
        builder(wb, data)
    return wb

