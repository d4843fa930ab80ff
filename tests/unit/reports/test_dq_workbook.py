"""The DQ workbook from plain rows: the first screen tells a blocked day's story."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl

from reports.dq_report import build_workbook
from reports.dq_model import ReportData

DS = dt.date(2026, 11, 20)


def check(pipeline, scope, name, status, step="audit", **more) -> dict:
    base = {"pipeline": pipeline, "step": step, "entity": scope, "layer": "staging", "check_name": name,
            "check_type": "not_null", "columns": [], "severity": "error", "status": status, "observed": "",
            "threshold": "", "failing_count": 0, "total_count": 10, "failing_pct": 0.0, "message": None,
            "checked_table": f"staging.{pipeline}_{scope}", "run_id": f"{pipeline}-{scope}", "failing_sample": []}
    return {**base, **more}


def blocked_day() -> ReportData:
    decisions = [
        {"pipeline": "bikes", "step": "audit", "scope": "salesorderheader", "outcome": "fail", "blocking": True,
         "message": "not_null_customerid: 3 of 189 rows fail", "rows": 9, "run_id": "a1"},
        {"pipeline": "bikes", "step": "mart", "scope": "fact_order", "outcome": "held_back", "blocking": True,
         "message": "held back: audit of salesorderheader failed", "rows": 0, "run_id": "b1"},
        {"pipeline": "bikes", "step": "record", "scope": "", "outcome": "blocked", "blocking": True, "message": "",
         "rows": 1, "run_id": "r1"},
        {"pipeline": "activity", "step": "audit", "scope": "user_activities", "outcome": "warn", "blocking": False,
         "message": None, "rows": 3, "run_id": "a2"},
        {"pipeline": "activity", "step": "mart", "scope": "activity_action_counts", "outcome": "published",
         "blocking": False, "message": None, "rows": 4, "run_id": "b2"},
        {"pipeline": "activity", "step": "record", "scope": "", "outcome": "warn", "blocking": False, "message": "",
         "rows": 0, "run_id": "r2"},
    ]
    checks = [
        check("bikes", "salesorderheader", "not_null_customerid", "fail", columns=["customerid"],
              observed="3 of 189 rows failing", threshold="0 rows", failing_count=3, total_count=189,
              message="3 of 189 rows fail: customerid must not be NULL",
              failing_sample=[{"salesorderid": 43659, "customerid": None}, {"salesorderid": 43660, "customerid": None}]),
        *[check("bikes", "salesorderheader", f"pass_{i}", "pass") for i in range(144)],
        check("activity", "user_activities", "occurred_on_ds_utc", "warn", severity="warn", message="1 of 900 rows fail",
              observed="1 of 900 rows failing", threshold="0 rows", columns=["occurred_at"],
              failing_sample=[{"line_no": 7, "occurred_at": "2026-11-19T23:59:00+00:00", "user_agent": "ua\x01x"}]),
        *[check("activity", "user_activities", f"ok_{i}", "pass") for i in range(29)],
        check("activity", "activity_user_action_intervals", "intervals_are_non_negative_for_every_user", "warn",
              step="mart", severity="warn"),
    ]
    flow = [{"pipeline": "bikes", "entity": "salesorderheader", "raw_records": 189, "valid_rows": 189, "quarantined": 0,
             "staging_rows": 189, "mart_table": "fact_order", "mart_rows": 0, "mart_outcome": "held_back", "unit": "lines"},
            {"pipeline": "activity", "entity": "user_activities", "raw_records": 900, "valid_rows": 855,
             "quarantined": 45, "staging_rows": 855, "mart_table": "activity_action_counts", "mart_rows": 4,
             "mart_outcome": "published", "unit": "lines"}]
    return ReportData(ds=DS, generated_at=dt.datetime(2026, 11, 21, 2), version="test",
                      pipelines=["activity", "bikes", "library"], decisions=decisions, checks=checks, flow=flow,
                      quarantine=[])


def summary_rows(ws) -> list[tuple]:
    return [tuple(c for c in r) for r in ws.iter_rows(values_only=True)]


def test_the_first_screen_names_the_blocked_step_the_failing_check_and_the_missing_pipeline():
    wb = build_workbook(blocked_day())
    ws = wb["Summary"]
    assert ws["B3"].value == "FAIL"
    assert ws["A2"].value.startswith("PARTIAL: 2 of 3 enabled pipelines recorded; not recorded: library")
    assert "bikes blocked at audit of salesorderheader (1 mart not published)" in ws["C3"].value
    rows = summary_rows(ws)
    pipelines = {r[0]: r for r in rows if r[0] in ("activity", "bikes", "library") and r[1] in
                 ("pass", "warn", "blocked", "not recorded")}
    assert pipelines["bikes"][1:4] == ("blocked", "0 of 1", "audit of salesorderheader")
    assert pipelines["bikes"][5] == "fact_order (held back)" and pipelines["library"][1] == "not recorded"
    failing = [r for r in rows if r[3] in ("not_null_customerid", "occurred_on_ds_utc")]
    assert [r[3] for r in failing] == ["not_null_customerid", "occurred_on_ds_utc"]  # failures first, then warnings
    assert failing[0][4:8] == ("fail", "3 of 189 rows fail: customerid must not be NULL", "3 of 189 rows failing",
                               "0 rows")
    link = next(c for row in ws.iter_rows() for c in row if c.value == "2 samples")
    target_row = int(link.hyperlink.location.split("!A")[1]) if link.hyperlink.location else \
        int(link.hyperlink.target.split("!A")[1])
    sample = wb["Failing samples"][target_row]
    assert sample[2].value == "not_null_customerid" and sample[5].value == "customerid=null"  # the checked column


def test_zero_counts_are_not_coloured_and_the_chart_scale_starts_at_zero():
    wb = build_workbook(blocked_day())
    ws = wb["Summary"]
    counts = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in range(5, 9)}
    assert counts["error"].value == 0 and counts["error"].fill.fill_type is None
    assert counts["fail"].value == 1 and counts["fail"].fill.fgColor.rgb.endswith("FFC7CE")
    chart = ws._charts[0]
    assert chart.y_axis.scaling.min == 0 and chart.grouping == "stacked"
    # the chart plots each pipeline's share of checks not passing: 2 warnings of 31 checks is 2/31, not 2 of 176
    data = {r[0]: r[1:4] for r in summary_rows(ws)
            if r[0] in ("activity", "bikes") and any(isinstance(v, float) for v in r[1:4])}
    assert abs(data["activity"][0] - 2 / 31) < 1e-9 and data["activity"][1] is None
    assert abs(data["bikes"][1] - 1 / 145) < 1e-9


def test_it_prints_to_the_page_width_and_saves_with_control_characters_in_samples():
    wb = build_workbook(blocked_day())
    for ws in wb:
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    widths = wb["Summary"].column_dimensions
    assert widths["C"].width > len("activity_user_action_intervals")
    assert widths["D"].width > len("intervals_are_non_negative_for_every_user")
    buf = io.BytesIO()
    wb.save(buf)  # the \x01 in a sample does not stop the save
    text = [c.value for row in openpyxl.load_workbook(buf)["Failing samples"].iter_rows() for c in row if c.value]
    assert any("ua\\u0001x" in str(v) for v in text)
