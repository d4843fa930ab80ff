"""FakeStore end to end, for two dates, on (a) embedded PostgreSQL + local lake and
(b) embedded PostgreSQL + lake on moto's S3 server over HTTP.

Expected mart values are computed here from the raw JSON in the lake, with the
source contract's rules written out independently of the code under test.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import luigi
import pytest

from workflows import RunAll

D1, D2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)
MARTS = ("mart.dim_product", "mart.dim_user", "mart.fact_sales")
KEYS = {"mart.dim_product": "product_id", "mart.dim_user": "user_id", "mart.fact_sales": "cart_id, product_id"}


pytestmark = pytest.mark.usefixtures("only_fakestore")

def build(*tasks) -> luigi.execution_summary.LuigiRunResult:
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def raw(env, entity: str, ds: dt.date) -> dict:
    return json.loads(env.read_lake(f"raw/fakestore/{entity}/ds={ds}/{entity}.json"))


def quarantine(env, entity: str, ds: dt.date) -> list[dict]:
    text = env.read_lake(f"quarantine/fakestore/{entity}/ds={ds}/rejects.jsonl").decode()
    return [json.loads(line) for line in text.splitlines() if line]


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def valid_products(records: list[dict]) -> dict[int, Decimal]:
    """id -> price for products the contract accepts (all required fields, price a number >= 0)."""
    out = {}
    for p in records:
        required = all(k in p for k in ("id", "title", "price", "category", "rating"))
        if required and is_number(p["price"]) and p["price"] >= 0 and 0 <= p["rating"].get("rate", -1) <= 5:
            out[p["id"]] = Decimal(str(p["price"])).quantize(Decimal("0.01"))
    return out


def expected_lines(carts: list[dict], prices: dict[int, Decimal]) -> dict[tuple, tuple]:
    """(cart_id, product_id) -> (user_id, quantity, unit_price, line_total); first line wins, unknown products out."""
    out = {}
    for cart in carts:
        for line in cart["products"]:
            key = (cart["id"], line["productId"])
            if key in out or line["productId"] not in prices:
                continue
            price = prices[line["productId"]]
            out[key] = (cart["userId"], line["quantity"], price, price * line["quantity"])
    return out


def checksum(env, table: str, where: str = "true") -> tuple[int, str]:
    return env.query(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {KEYS[table]}), '')) FROM {table} t WHERE {where}"
    )[0]


def test_two_dates_rerun_and_defects(env):
    build(RunAll(date=D1))
    d1_fact = checksum(env, "mart.fact_sales", f"ds = '{D1}'")
    d1_staging = env.query("SELECT count(*), sum(hashtext(t::text)) FROM staging.fakestore_carts t WHERE ds = %s", (D1,))

    build(RunAll(date=D2))

    for ds in (D1, D2):
        products, carts, users = (raw(env, e, ds) for e in ("products", "carts", "users"))
        # raw lands as received, with metadata, and never with passwords
        assert products["meta"]["record_count"] == len(products["records"]) > 0
        assert carts["meta"]["params"] == {"startdate": str(ds), "enddate": str(ds + dt.timedelta(days=1))}
        assert all("password" not in u for u in users["records"])

        prices = valid_products(products["records"])
        lines = expected_lines(carts["records"], prices)
        got = {
            (c, p): (u, q, price, total)
            for c, p, u, q, price, total in env.query(
                "SELECT cart_id, product_id, user_id, quantity, unit_price, line_total FROM mart.fact_sales WHERE ds = %s",
                (ds,),
            )
        }
        assert got == lines
        assert all(dt.datetime.fromisoformat(c["date"]).date() == ds for c in carts["records"])

        staged_prices = dict(env.query("SELECT product_id, price FROM staging.fakestore_products WHERE ds = %s", (ds,)))
        assert staged_prices == prices
        staged_users = {r[0] for r in env.query("SELECT user_id FROM staging.fakestore_users WHERE ds = %s", (ds,))}
        assert staged_users == {u["id"] for u in users["records"] if "email" in u}

        # every injected defect is quarantined with a reason and reaches no mart
        bad_products = {p["id"] for p in products["records"]} - set(prices)
        q_products = {r["record"]["id"]: r["reason"] for r in quarantine(env, "products", ds)}
        assert set(q_products) == bad_products and len(bad_products) == 2
        assert any("not of type 'number'" in reason for reason in q_products.values())
        assert any("less than the minimum of 0" in reason for reason in q_products.values())
        q_users = quarantine(env, "users", ds)
        assert [r["reason"] for r in q_users] == ["$: 'email' is a required property"]
        q_carts = {r["rule"]: r for r in quarantine(env, "carts", ds)}
        assert set(q_carts) == {"duplicate_key", "lookup"}
        assert q_carts["lookup"]["record"]["item"]["productId"] == 9999
        assert not env.query("SELECT 1 FROM mart.fact_sales WHERE ds = %s AND (product_id = 9999 OR product_id = ANY(%s))", (ds, list(bad_products)))
        total_lines = sum(len(c["products"]) for c in carts["records"])
        assert total_lines == len(lines) + len(q_carts)

    # dims hold the newest snapshot's values for every product valid on some date
    latest = {**valid_products(raw(env, "products", D1)["records"]), **valid_products(raw(env, "products", D2)["records"])}
    assert dict(env.query("SELECT product_id, price FROM mart.dim_product")) == latest

    # the second date added its partition without touching the first
    assert checksum(env, "mart.fact_sales", f"ds = '{D1}'") == d1_fact
    assert env.query("SELECT count(*), sum(hashtext(t::text)) FROM staging.fakestore_carts t WHERE ds = %s", (D1,)) == d1_staging

    # re-running a date (markers dropped: every task runs again) changes nothing
    before = {t: checksum(env, t) for t in MARTS}
    env.query("DELETE FROM etl.partition_markers WHERE ds = %s RETURNING 1", (D1,))
    runs = "SELECT count(*) FROM etl.task_runs WHERE ds = %s AND task_family = 'Mart' AND status = 'success'"
    marts_before = env.query(runs, (D1,))[0][0]
    result = build(RunAll(date=D1))
    assert "ran successfully" in result.summary_text and env.query(runs, (D1,))[0][0] == marts_before + len(MARTS)
    assert {t: checksum(env, t) for t in MARTS} == before
    markers = env.query("SELECT target, rows FROM etl.partition_markers WHERE ds = %s ORDER BY target", (D1,))
    assert ("mart/fakestore/fact_sales", len(expected_lines(raw(env, "carts", D1)["records"], valid_products(raw(env, "products", D1)["records"])))) in markers


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_second_run_schedules_nothing(env):
    build(RunAll(date=D1))
    result = build(RunAll(date=D1))
    assert result.scheduling_succeeded
    assert "Did not run any tasks" in result.summary_text
