"""The FakeStore KPI workbook, built from plain rows (no database, no Luigi here).

``build_workbook(data)`` takes a ``KPIData`` and returns an openpyxl Workbook:
Summary (headline KPIs, DQ status counts and the four charts: 30-day trend
line, top categories and top products bars, price histogram), Trend, Top
categories, Top products, Price histogram (the charts' data) and About
(definitions). Values only, no formulas, no wall-clock time: the same data
gives the same workbook.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
BIG = Font(bold=True, size=16)
HEAD = PatternFill("solid", fgColor="DDEBF7")
STATUS_FILLS = {"pass": "C6EFCE", "warn": "FFEB9C", "fail": "FFC7CE", "error": "FF9999"}
MONEY = "#,##0.00"
HEADLINE = (("revenue", "Revenue", MONEY), ("orders", "Orders (carts)", "#,##0"), ("items", "Items sold", "#,##0"),
            ("aov", "Average order value", MONEY), ("unique_products", "Unique products sold", "#,##0"),
            ("customers", "Customers", "#,##0"), ("cart_lines", "Cart lines", "#,##0"))
DEFINITIONS = (
    ("Source", "mart.fact_sales (cart-line grain) for the ds, mart.dim_product for categories and titles"),
    ("Orders", "carts: distinct cart_id among the ds's cart lines (a cart with several products is one order)"),
    ("Items sold", "sum of quantity over the ds's cart lines"),
    ("Revenue", "sum of line_total = quantity × unit_price (the product's price in the ds's snapshot)"),
    ("Average order value", "revenue / orders, rounded to cents"),
    ("Unique products sold", "distinct product_id among the ds's cart lines"),
    ("Trend", "the same KPIs for each of the last 30 dates, as loaded when the report was built "
              "(blank: the date was not loaded; 0: loaded, no sales)"),
    ("Top categories / products", "by revenue; category and title from dim_product (newest snapshot)"),
    ("Price histogram", "the ds's cart lines by unit-price band [low, high)"),
    ("DQ status counts", "outcomes of the ds's latest fakestore check run (etl.dq_results)"),
    ("Not counted", "records the staging contract quarantined (see the DQ report's Quarantine sheet)"),
)


@dataclass
class KPIData:
    ds: dt.date
    version: str
    headline: dict            # HEADLINE keys
    trend: list[dict]         # ds, revenue, orders, items, aov
    top_categories: list[dict]  # category, revenue, items, orders
    top_products: list[dict]  # product_id, title, category, items, revenue, orders
    histogram: list[dict]     # band_no, price_band, cart_lines, items
    dq_status: list[dict]     # status, checks


def _header(ws, row: int, names, col: int = 1) -> None:
    for i, name in enumerate(names):
        cell = ws.cell(row=row, column=col + i, value=name)
        cell.font, cell.fill = BOLD, HEAD


def _rows(ws, first_row: int, rows: list[dict], cols: tuple[str, ...], formats: dict[str, str] | None = None) -> None:
    for i, r in enumerate(rows, start=first_row):
        for j, name in enumerate(cols, start=1):
            cell = ws.cell(row=i, column=j, value=r[name])
            if formats and name in formats:
                cell.number_format = formats[name]


def _data_sheet(wb: Workbook, title: str, rows: list[dict], cols: tuple[str, ...], formats: dict[str, str]):
    ws = wb.create_sheet(title)
    _header(ws, 1, cols)
    _rows(ws, 2, rows, cols, formats)
    ws.freeze_panes = "A2"
    for j in range(len(cols)):
        ws.column_dimensions[chr(ord("A") + j)].width = 16 if j else 22
    return ws


def _bar(title: str, y_title: str, ws, value_col: int, n: int, horizontal: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title, chart.y_axis.title, chart.legend = title, y_title, None
    chart.add_data(Reference(ws, min_col=value_col, min_row=1, max_row=1 + n), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=1 + n))
    return chart


def build_workbook(data: KPIData) -> Workbook:
    """The whole KPI workbook for one ds."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws["A1"] = f"FakeStore KPIs — ds {data.ds}"
    ws["A1"].font = TITLE
    for i, (key, label, fmt) in enumerate(HEADLINE, start=3):
        ws.cell(row=i, column=1, value=label).font = BOLD
        cell = ws.cell(row=i, column=2, value=data.headline[key])
        cell.number_format, cell.font, cell.alignment = fmt, BIG, Alignment(horizontal="right")
    ws.cell(row=3, column=4, value="Data-quality checks (fakestore)").font = BOLD
    for i, r in enumerate(data.dq_status, start=4):
        ws.cell(row=i, column=4, value=r["status"]).fill = PatternFill("solid", fgColor=STATUS_FILLS[r["status"]])
        ws.cell(row=i, column=5, value=r["checks"])
    for letter, width in (("A", 26), ("B", 16), ("C", 4), ("D", 30), ("E", 10)):
        ws.column_dimensions[letter].width = width

    trend = _data_sheet(wb, "Trend", data.trend, ("ds", "revenue", "orders", "items", "aov"),
                        {"ds": "yyyy-mm-dd", "revenue": MONEY, "aov": MONEY})
    cats = _data_sheet(wb, "Top categories", data.top_categories, ("category", "revenue", "items", "orders"),
                       {"revenue": MONEY})
    prods = _data_sheet(wb, "Top products", [{**p, "label": f"{p['product_id']} {p['title'] or ''}".strip()}
                                             for p in data.top_products],
                        ("label", "revenue", "items", "orders", "product_id", "category"), {"revenue": MONEY})
    hist = _data_sheet(wb, "Price histogram", data.histogram, ("price_band", "cart_lines", "items"), {})

    n = len(data.trend)
    line = LineChart()
    line.title, line.y_axis.title = f"Revenue and orders, last {n} days", "revenue"
    line.legend.position = "b"
    line.add_data(Reference(trend, min_col=2, min_row=1, max_row=1 + n), titles_from_data=True)
    line.set_categories(Reference(trend, min_col=1, min_row=2, max_row=1 + n))
    line.x_axis.number_format = "mm-dd"
    orders = LineChart()  # orders on a second axis: tens of orders beside thousands in revenue
    orders.add_data(Reference(trend, min_col=3, min_row=1, max_row=1 + n), titles_from_data=True)
    orders.y_axis.axId, orders.y_axis.title, orders.y_axis.crosses = 200, "orders", "max"
    line += orders
    for series in line.series + orders.series:
        series.smooth = False
    charts = (line, _bar("Cart lines by unit price", "cart lines", hist, 2, len(data.histogram)),
              _bar("Top categories by revenue", "revenue", cats, 2, len(data.top_categories), True),
              _bar("Top products by revenue", "revenue", prods, 2, len(data.top_products), True))
    for chart, anchor in zip(charts, ("A12", "F12", "A30", "F30")):  # a 2 × 2 grid under the numbers
        chart.height, chart.width = 8.5, 15
        ws.add_chart(chart, anchor)
    ws.page_setup.orientation, ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = "landscape", 1, 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    about = wb.create_sheet("About")
    about["A1"] = "About this report"
    about["A1"].font = TITLE
    for i, (k, v) in enumerate((("ds", str(data.ds)), ("project version", data.version), *DEFINITIONS), start=3):
        about.cell(row=i, column=1, value=k).font = BOLD
        about.cell(row=i, column=2, value=v)
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 26, 100
    return wb
