"""The DQ workbook's first screen: the whole day's story on one printable page.

Overall status and coverage (every enabled pipeline, or which are missing); the checks per
status (a zero is never coloured as a failure); each pipeline's outcome — passed, warned, or
blocked at which step, with the marts held back or rolled back; the failing and warning checks
by name with message, observed value, threshold and a link to their samples; the quarantine
share per entity; and two charts whose scale shows a single warning: the share of each
pipeline's checks not passing, and the quarantined share per entity, both from zero.
"""
from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from reports.dq_model import (BOLD, FILLS, LINK, OUTCOME_FILL, RIGHT, STATUSES, TITLE, WRAP, ReportData, cell_value,
                              header, printable)

FAILING_COLUMNS = ("pipeline", "step", "scope", "check", "status", "message", "observed", "threshold", "samples")
PIPELINE_COLUMNS = ("pipeline", "outcome", "marts published", "blocked at", "checks", "marts not published",
                    "checks not passing")
SHARE_COLUMNS = ("pipeline", "audit", "entity", "quarantined of raw", "share")
NUMERIC = {"share", "marts published", "checks", "quarantined of raw"}
STATUS_COLOURS = {"warn": "FFC000", "fail": "F8696B", "error": "C00000"}
WIDTHS = (16, 11, 28, 32, 9, 46, 28, 24, 11)   # columns A..J: the tables share them; the charts sit on top
CHART_ROWS = 14                                   # rows 5..16 hold the two charts, beside the status counts


def _fit_heights(ws, first: int, last: int) -> None:
    """Rows tall enough for their wrapped text, every cell top-aligned (openpyxl does not measure text;
    LibreOffice and Excel keep a row height that is set)."""
    for r in range(first, last + 1):
        lines = 1
        for c in ws[r]:
            if c.value is None:
                continue
            wrap = bool(c.alignment is not None and c.alignment.wrap_text)
            c.alignment = Alignment(wrap_text=wrap, vertical="top", horizontal=c.alignment.horizontal)
            if wrap:
                width = ws.column_dimensions[get_column_letter(c.column)].width or 10
                lines = max(lines, -(-len(str(c.value)) // max(1, int(width * 1.15))))
        if lines > 1:
            ws.row_dimensions[r].height = 13 * lines


def _put(ws, row: int, col: int, value, fill: str | None = None, **style):
    cell = ws.cell(row=row, column=col, value=cell_value(value))
    if fill:
        cell.fill = FILLS[fill]
    for k, v in style.items():
        setattr(cell, k, v)
    return cell


def _coverage(data: ReportData, outcomes: list[dict]) -> str:
    missing = [o["pipeline"] for o in outcomes if o["status"] == "not recorded"]
    if missing:
        return (f"PARTIAL: {len(outcomes) - len(missing)} of {len(outcomes)} enabled pipelines recorded; "
                f"not recorded: {', '.join(missing)}")
    return f"Covers all {len(outcomes)} enabled pipelines: {', '.join(data.pipelines)}"


def _story(outcomes: list[dict]) -> str:
    blocked = [o for o in outcomes if o["status"] == "blocked"]
    if not blocked:
        return "nothing blocked: every mart published"
    parts = []
    for o in blocked:
        held = o["held_back"] + o["rolled_back"]
        parts.append(f"{o['pipeline']} blocked at {o['blocked_at'] or 'its marts'}"
                     + (f" ({len(held)} mart{'s' * (len(held) != 1)} not published)" if held else ""))
    return "; ".join(parts)


def _pipelines(ws, row: int, outcomes: list[dict]) -> int:
    _put(ws, row, 1, "Pipelines", font=BOLD)
    header(ws, row + 1, PIPELINE_COLUMNS, numeric=NUMERIC)
    for i, o in enumerate(outcomes, start=row + 2):
        not_published = [f"{m} (held back)" for m in o["held_back"]] + [f"{m} (rolled back)" for m in o["rolled_back"]]
        bad = [f"{o[s]} {s}" for s in ("error", "fail", "warn") if o[s]]
        worst = next((s for s in ("error", "fail", "warn") if o[s]), None)
        values = (o["pipeline"], o["status"], f"{o['published']} of {o['marts']}", o["blocked_at"] or "—",
                  sum(o[s] for s in STATUSES), ", ".join(not_published) or "—", ", ".join(bad) or "—")
        for j, v in enumerate(values, start=1):
            cell = _put(ws, i, j, v)
            if j == 2:
                cell.fill = FILLS[OUTCOME_FILL.get(o["status"], "none")]
            if j == 7 and worst:  # coloured only when something did not pass
                cell.fill = FILLS[worst]
            if j in (4, 6):
                cell.alignment = WRAP
    return row + 2 + len(outcomes)


def _failing(ws, row: int, data: ReportData, sample_rows: dict) -> int:
    failing = [c for c in data.checks if c["status"] != "pass"]
    _put(ws, row, 1, f"Failing and warning checks ({len(failing)})", font=BOLD)
    if not failing:
        _put(ws, row + 1, 1, "none: every check passed")
        return row + 2
    header(ws, row + 1, FAILING_COLUMNS)
    for i, c in enumerate(failing, start=row + 2):
        values = (c["pipeline"], c.get("step") or "audit", c["entity"], c["check_name"], c["status"],
                  c.get("message") or "", c.get("observed") or "", c.get("threshold") or "")
        for j, v in enumerate(values, start=1):
            cell = _put(ws, i, j, v)
            if j == 5:
                cell.fill = FILLS[c["status"]]
            if j in (6, 7, 8):
                cell.alignment = WRAP
        first = sample_rows.get((c["pipeline"], c.get("step"), c["entity"], c["check_name"]))
        if first:
            link = _put(ws, i, 9, f"{len(c.get('failing_sample') or [])} samples", font=LINK)
            link.hyperlink = f"#'Failing samples'!A{first}"
        else:
            _put(ws, i, 9, "—")
    return row + 2 + len(failing)


def _shares(data: ReportData) -> list[dict]:
    audits = {(d["pipeline"], d["scope"]): d for d in data.decisions if d["step"] == "audit"}
    out = []
    for f in data.flow:
        raw, q = f["raw_records"] or 0, f["quarantined"] or 0
        audit = audits.get((f["pipeline"], f["entity"]))
        out.append({"pipeline": f["pipeline"], "entity": f["entity"], "raw": raw, "quarantined": q,
                    "unit": f.get("unit") or "units",
                    "share": q / raw if raw else 0.0, "audit": audit["outcome"] if audit else "—"})
    return out


def _quarantine(ws, row: int, shares: list[dict]) -> int:
    shown = [s for s in shares if s["quarantined"] or s["audit"] not in ("pass", "—")]
    _put(ws, row, 1, "Quarantine share per entity", font=BOLD)
    header(ws, row + 1, SHARE_COLUMNS, numeric=NUMERIC)
    for i, s in enumerate(shown, start=row + 2):
        values = (s["pipeline"], s["audit"], s["entity"], f"{s['quarantined']} of {s['raw']} {s['unit']}", s["share"])
        for j, v in enumerate(values, start=1):
            cell = _put(ws, i, j, v)
            if j == 2:
                cell.fill = FILLS.get(s["audit"], FILLS["none"])
            if j == 4:
                cell.alignment = RIGHT
            if j == 5:
                cell.number_format = "0.0%"
    row += 2 + len(shown)
    rest = len(shares) - len(shown)
    if rest:
        _put(ws, row, 1, f"+ {rest} entities with nothing quarantined and a passing audit")
        row += 1
    return row


def _charts(ws, data_row: int, outcomes: list[dict], shares: list[dict]) -> None:
    """Chart data at ``data_row`` (below everything), the charts at the top right."""
    _put(ws, data_row, 1, "Chart data", font=BOLD)
    header(ws, data_row + 1, ["pipeline", "warn", "fail", "error"])
    for i, o in enumerate(outcomes, start=data_row + 2):
        total = sum(o[s] for s in STATUSES)
        _put(ws, i, 1, o["pipeline"])
        for j, s in enumerate(("warn", "fail", "error"), start=2):  # blank, not 0: no bar, no label
            if total and o[s]:
                _put(ws, i, j, o[s] / total).number_format = "0.0%"
    if outcomes:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
        chart.title = "Share of each pipeline's checks not passing"
        chart.add_data(Reference(ws, min_col=2, max_col=4, min_row=data_row + 1, max_row=data_row + 1 + len(outcomes)),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=data_row + 2, max_row=data_row + 1 + len(outcomes)))
        for series, s in zip(chart.series, ("warn", "fail", "error")):
            series.graphicalProperties.solidFill = STATUS_COLOURS[s]
        _axes(chart, "share of checks", width=13)
        ws.add_chart(chart, "C5")
    rows = sorted((s for s in shares if s["quarantined"]), key=lambda s: -s["share"])[:8]
    top = data_row + 3 + len(outcomes)
    header(ws, top, ["entity", "quarantined share"])
    for i, s in enumerate(rows, start=top + 1):
        _put(ws, i, 1, f"{s['pipeline']}.{s['entity']}")
        _put(ws, i, 2, s["share"]).number_format = "0.0%"
    if rows:
        chart = BarChart()
        chart.type, chart.title = "bar", "Quarantined share per entity"
        chart.add_data(Reference(ws, min_col=2, min_row=top, max_row=top + len(rows)), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(rows)))
        chart.series[0].graphicalProperties.solidFill = "F4B183"
        chart.x_axis.scaling.orientation = "maxMin"  # largest share on top
        chart.legend = None
        _axes(chart, "share of raw units", width=16)
        ws.add_chart(chart, "F5")


def _axes(chart, y_title: str, width: float) -> None:
    chart.y_axis.title = y_title
    chart.y_axis.scaling.min = 0
    chart.y_axis.number_format = "0%"
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    chart.dataLabels.showSerName = chart.dataLabels.showCatName = False
    chart.dataLabels.showLegendKey = chart.dataLabels.showPercent = False
    chart.dataLabels.numFmt = "0.0%"
    chart.height, chart.width = 0.5 * CHART_ROWS, width


def build_summary(ws, data: ReportData, sample_rows: dict) -> None:
    """Fill the Summary sheet ``ws``; ``sample_rows`` maps (pipeline, step, scope, check) to its first sample row."""
    outcomes = data.outcomes()
    counts = {s: sum(c["status"] == s for c in data.checks) for s in STATUSES}
    status = data.status
    _put(ws, 1, 1, f"Data-quality report — ds {data.ds}", font=TITLE)
    _put(ws, 2, 1, _coverage(data, outcomes))
    _put(ws, 3, 1, "Overall status", font=BOLD)
    _put(ws, 3, 2, status, {"PASS": "pass", "WARN": "warn", "FAIL": "fail"}.get(status, "error"), font=BOLD)
    _put(ws, 3, 3, _story(outcomes), font=BOLD)
    ws.merge_cells(start_row=3, start_column=3, end_row=3, end_column=len(WIDTHS))
    _put(ws, 4, 1, "Checks run")
    _put(ws, 4, 2, len(data.checks))
    for i, s in enumerate(STATUSES, start=5):
        _put(ws, i, 1, s)
        _put(ws, i, 2, counts[s], s if counts[s] or s == "pass" else None)
    row = _pipelines(ws, CHART_ROWS + 4, outcomes) + 1
    row = _failing(ws, row, data, sample_rows) + 1
    shares = _shares(data)
    row = _quarantine(ws, row, shares) + 2
    _charts(ws, row, outcomes, shares)
    for i, width in enumerate(WIDTHS, start=1):  # names (pipelines, entities, marts, checks) never cut off
        longest = max((len(str(ws.cell(row=r, column=i).value or "")) for r in range(CHART_ROWS + 4, row - 2)
                       if not (ws.cell(row=r, column=i).alignment and ws.cell(row=r, column=i).alignment.wrap_text)),
                      default=0)
        ws.column_dimensions[get_column_letter(i)].width = max(width, min(longest + 1, 48)) if i <= 5 else width
    _fit_heights(ws, CHART_ROWS + 4, row)
    printable(ws)
    ws.print_area = f"A1:{get_column_letter(len(WIDTHS))}{row - 2}"
    ws.freeze_panes = "A4"
