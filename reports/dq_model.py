"""What the DQ workbook shows, as plain rows, and the cell styles its sheets share (no database here).

``ReportData`` holds the day's current decisions (audit per entity, build per mart, record per
pipeline), the results of those decisions, the row flow, quarantine groups, trend and task runs;
``outcomes`` derives each enabled pipeline's story: passed, warned, or blocked at which step.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

STATUSES = ("pass", "warn", "fail", "error")
RANK = {"none": -1, "pass": 0, "warn": 1, "fail": 2, "error": 3}
FILLS = {
    "pass": PatternFill("solid", fgColor="C6EFCE"),
    "warn": PatternFill("solid", fgColor="FFEB9C"),
    "fail": PatternFill("solid", fgColor="FFC7CE"),
    "error": PatternFill("solid", fgColor="FF9999"),
    "none": PatternFill("solid", fgColor="EDEDED"),
    "header": PatternFill("solid", fgColor="DDEBF7"),
}
OUTCOME_FILL = {"pass": "pass", "warn": "warn", "blocked": "fail", "not recorded": "error", "published": "pass",
                "held_back": "fail", "rolled_back": "fail"}
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
LINK = Font(color="0563C1", underline="single")
WRAP = Alignment(wrap_text=True, vertical="top")
RIGHT = Alignment(horizontal="right")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class ReportData:
    ds: dt.date
    generated_at: dt.datetime
    version: str
    pipelines: list[str]             # the enabled pipelines: the report covers each
    decisions: list[dict]            # pipeline, step, scope, outcome, blocking, message, rows, run_id
    checks: list[dict]               # the current decisions' results (CHECK_COLUMNS + failing_sample)
    flow: list[dict]                 # pipeline, entity, raw_records, valid_rows, quarantined, staging_rows, mart_*
    quarantine: list[dict]           # pipeline, entity, rule, reason, records, sample
    trend: list[dict] = field(default_factory=list)      # ds, pipeline, entity, pass_rate, valid_rows, staging_rows
    task_runs: list[dict] = field(default_factory=list)  # etl.task_runs per task family and pipeline for ds

    def outcomes(self) -> list[dict]:
        """Per enabled pipeline: status (pass / warn / blocked / not recorded), where it was blocked, checks per status."""
        out = []
        for p in self.pipelines:
            mine = [d for d in self.decisions if d["pipeline"] == p]
            record = next((d for d in mine if d["step"] == "record"), None)
            audits = [d for d in mine if d["step"] == "audit"]
            builds = [d for d in mine if d["step"] == "mart"]
            blocked = [d["scope"] for d in audits if d["blocking"]]
            held = [d["scope"] for d in builds if d["outcome"] == "held_back"]
            rolled = [d["scope"] for d in builds if d["outcome"] == "rolled_back"]
            counts = {s: sum(c["pipeline"] == p and c["status"] == s for c in self.checks) for s in STATUSES}
            if record is None:
                status = "not recorded"
            elif blocked or held or rolled or record["blocking"]:
                status = "blocked"
            elif counts["warn"]:
                status = "warn"
            else:
                status = "pass"
            steps = ([f"audit of {', '.join(blocked)}"] if blocked else []) + (
                [f"mart {', '.join(rolled)}"] if rolled else [])
            out.append({"pipeline": p, "status": status, "blocked_at": "; ".join(steps) or None,
                        "held_back": held, "rolled_back": rolled, "published": sum(d["outcome"] == "published" for d in builds),
                        "marts": len(builds), **counts})
        return out

    @property
    def status(self) -> str:
        """PASS, WARN, FAIL (a blocking result or a blocked pipeline) or PARTIAL (an enabled pipeline not recorded)."""
        outcomes = self.outcomes()
        worst = max((RANK[c["status"]] for c in self.checks), default=-1)
        if worst >= 2 or any(o["status"] == "blocked" for o in outcomes):
            return "FAIL"
        if any(o["status"] == "not recorded" for o in outcomes):
            return "PARTIAL"
        if worst == 1:
            return "WARN"
        return "PASS" if self.checks else "no checks"


def overall_status(checks: list[dict]) -> str:
    worst = max((RANK[c["status"]] for c in checks), default=-1)
    return {-1: "no checks", 0: "PASS", 1: "WARN", 2: "FAIL", 3: "FAIL"}[worst]


def cell_value(value):
    """A value a cell can hold: lists joined, control characters escaped (openpyxl refuses them)."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    if isinstance(value, str):
        return _ILLEGAL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", value)
    return value


def header(ws, row: int, names, col: int = 1, numeric: set[str] = frozenset()) -> None:
    """A header row; the headers of numeric columns right-aligned, like their numbers."""
    for i, name in enumerate(names):
        cell = ws.cell(row=row, column=col + i, value=name)
        cell.font = BOLD
        cell.fill = FILLS["header"]
        if name in numeric:
            cell.alignment = RIGHT


def fit_widths(ws, minimum: int = 6, maximum: int = 60, fixed: dict[str, int] | None = None) -> None:
    """Column widths from the longest value in each column (names never cut off), within bounds."""
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is not None and not (c.alignment and c.alignment.wrap_text):
                widths[c.column] = max(widths.get(c.column, 0), len(str(c.value)))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(minimum, min(maximum, width + 2))
    for letter, width in (fixed or {}).items():
        ws.column_dimensions[letter].width = width


def printable(ws, landscape: bool = True, title_rows: str | None = None) -> None:
    """Fit to the page width, as many pages tall as needed, titles repeated."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4
    if title_rows:
        ws.print_title_rows = title_rows
