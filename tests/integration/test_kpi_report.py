"""The KPI workbook against an independent computation from the raw JSON in the lake.

The expectation applies the staging contract as documented, not the code under test:
a record must satisfy its entity's JSON Schema (schemas/fakestore/*.json, checked here
with jsonschema); the first record of a key wins, later ones are quarantined; a cart
line whose product is not a valid product of the same ds is quarantined; unit_price is
the product's price in that ds's snapshot (numeric(12,2), rounded half away from zero);
categories and titles come from the newest snapshot (dim_product). Orders are carts.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import jsonschema
import luigi
import openpyxl
import pytest

from workflows import KPIReport, RunAll

REPO = Path(__file__).resolve().parents[2]
D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)
CENT = Decimal("0.01")
BANDS = [(0, 10), (10, 25), (25, 50), (50, 100), (100, 250), (250, 500), (500, 1000), (1000, None)]

pytestmark = pytest.mark.usefixtures("only_fakestore")


def build(*tasks):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text


def valid(env, entity: str, ds: dt.date) -> list[dict]:
    """Raw records of the ds that satisfy the entity's JSON Schema."""
    schema = json.loads((REPO / f"workflows/schemas/fakestore/{entity}.json").read_text())
    records = json.loads(env.read_lake(f"raw/fakestore/{entity}/ds={ds}/{entity}.json"))["records"]
    validator = jsonschema.Draft202012Validator(schema)
    return [r for r in records if isinstance(r, dict) and validator.is_valid(r)]


def products(env, ds: dt.date) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for p in valid(env, "products", ds):
        out.setdefault(p["id"], {"price": Decimal(str(p["price"])).quantize(CENT, ROUND_HALF_UP),
                                 "category": p["category"], "title": p["title"]})
    return out


def lines(env, ds: dt.date) -> list[dict]:
    """The ds's cart lines the contract accepts, with their unit price."""
    prices = products(env, ds)
    out: dict[tuple, dict] = {}
    for cart in valid(env, "carts", ds):
        for item in cart["products"]:
            key = (cart["id"], item["productId"])
            if key in out or item["productId"] not in prices:
                continue
            price = prices[item["productId"]]["price"]
            out[key] = {"cart": cart["id"], "product": item["productId"], "user": cart["userId"],
                        "qty": item["quantity"], "price": price, "total": price * item["quantity"]}
    return list(out.values())


def expected(env, ds: dt.date, days: list[dt.date]) -> dict:
    ls = lines(env, ds)
    newest = {}
    for d in sorted(days):  # dim_product keeps the newest snapshot's attributes
        newest.update(products(env, d))
    revenue, orders = sum((x["total"] for x in ls), Decimal(0)), len({x["cart"] for x in ls})
    by_cat: dict[str, Decimal] = {}
    by_prod: dict[int, Decimal] = {}
    for x in ls:
        by_cat[newest[x["product"]]["category"]] = by_cat.get(newest[x["product"]]["category"], 0) + x["total"]
        by_prod[x["product"]] = by_prod.get(x["product"], 0) + x["total"]
    hist = [sum(1 for x in ls if x["price"] >= lo and (hi is None or x["price"] < hi)) for lo, hi in BANDS]
    trend = {}
    for d in days:
        day = lines(env, d)
        trend[d] = (sum((x["total"] for x in day), Decimal(0)), len({x["cart"] for x in day}))
    return {
        "headline": {"Revenue": revenue, "Orders (carts)": orders, "Items sold": sum(x["qty"] for x in ls),
                     "Average order value": (revenue / orders).quantize(CENT, ROUND_HALF_UP),
                     "Unique products sold": len({x["product"] for x in ls}),
                     "Customers": len({x["user"] for x in ls}), "Cart lines": len(ls)},
        "categories": sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        "products": sorted(by_prod.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        "histogram": hist, "trend": trend,
    }


def sheet_rows(wb, name: str) -> list[tuple]:
    return [r for r in wb[name].iter_rows(min_row=2, values_only=True)]


def dq_counts(env, ds: dt.date) -> dict[str, int]:
    """Statuses of the newest evaluation of every fakestore entity audit and mart build for ds."""
    rows = env.query("""
        SELECT status, count(*) FROM etl.dq_results
         WHERE ds = %s AND pipeline = 'fakestore'
           AND run_id IN (SELECT DISTINCT ON (step, entity) run_id FROM etl.dq_results
                           WHERE ds = %s AND pipeline = 'fakestore' ORDER BY step, entity, checked_at DESC, id DESC)
         GROUP BY status""", (ds, ds))
    return {s: 0 for s in ("pass", "warn", "fail", "error")} | dict(rows)


@pytest.mark.parametrize("env", ["local"], indirect=True)  # the pack test reads the workbook from S3 too
def test_kpi_workbook_equals_an_independent_computation_from_raw(env):
    build(RunAll(date=D1))
    build(RunAll(date=D2))
    data = env.read_lake(f"reports/kpi/ds={D2}/kpi_{D2}.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Trend", "Top categories", "Top products", "Price histogram", "About"]
    want = expected(env, D2, [D1, D2])

    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=3, max_row=9, values_only=True)}
    assert {k: Decimal(str(v)) for k, v in summary.items()} == {k: Decimal(v) for k, v in want["headline"].items()}
    assert want["headline"]["Orders (carts)"] < want["headline"]["Cart lines"]  # the notebook's AOV bug would show here
    dq = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=4, max_row=7, min_col=4, max_col=5, values_only=True)}
    assert dq == dq_counts(env, D2) and sum(dq.values()) > 0

    trend = {r[0].date(): (r[1] if r[1] is None else Decimal(str(r[1])), r[2]) for r in sheet_rows(wb, "Trend")}
    assert sorted(trend) == [D2 - dt.timedelta(days=i) for i in range(29, -1, -1)]
    assert {d: v for d, v in trend.items() if d in want["trend"]} == want["trend"]
    assert all(v == (None, None) for d, v in trend.items() if d not in want["trend"])  # not loaded: a gap, not 0

    cats = [(r[0], Decimal(str(r[1]))) for r in sheet_rows(wb, "Top categories")]
    assert cats == want["categories"]
    prods = [(r[4], Decimal(str(r[1]))) for r in sheet_rows(wb, "Top products")]
    assert prods == want["products"]
    assert [r[1] for r in sheet_rows(wb, "Price histogram")] == want["histogram"]

    with zipfile.ZipFile(io.BytesIO(data)) as z:  # openpyxl does not read charts back: look at the parts
        charts = [z.read(n).decode() for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)]
        core = z.read("docProps/core.xml").decode()
        stamps = {i.date_time for i in z.infolist()}
    kinds = sorted(re.search(r"<(?:c:)?(lineChart|barChart)\b", c).group(1) for c in charts)
    assert kinds == ["barChart", "barChart", "barChart", "lineChart"]
    # no save-time stamps: the document dates are the ds, the zip entries carry the zip epoch
    assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core) == [f"{D2}T00:00:00Z"] * 2
    assert stamps == {(1980, 1, 1, 0, 0, 0)}

    env.query("DELETE FROM etl.partition_markers WHERE target = 'report/kpi' AND ds = %s", (D2,))
    build(KPIReport(date=D2))  # rebuilt from the same marts: the same bytes
    assert env.read_lake(f"reports/kpi/ds={D2}/kpi_{D2}.xlsx") == data
