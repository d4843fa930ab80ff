"""FakeStore staging on tiny inline envelopes: contract, explode, derive, duplicate keys, lookups, column types."""
import datetime as dt
from dataclasses import replace

import pyarrow as pa

from tests.unit.pipelines.helpers import envelope, stage
from workflows.pipelines.fakestore import CARTS, PRODUCTS, USERS

UTC = dt.timezone.utc


def product(pid, price, **extra):
    return {"id": pid, "title": f"p{pid}", "price": price, "category": "c", "rating": {"rate": 4.5, "count": 3}, **extra}


def test_products_cast_and_reject_bad_prices(tmp_path):
    rows, rejects, _ = stage(PRODUCTS, tmp_path, envelope(
        [product(1, 10), product(2, 9.99), product(3, "N/A"), product(4, -1.5), {"id": 5}]))
    assert [r["product_id"] for r in rows] == [1, 2]
    assert [r["price"] for r in rows] == [10.0, 9.99]
    assert [r["description"] for r in rows] == ["", ""]  # declared default
    assert [r["record"]["id"] for r in rejects] == [3, 4, 5]
    assert [r["line"] for r in rejects] == [3, 4, 5]  # an envelope record's line is its position
    assert rejects[0]["reason"] == "$.price: 'N/A' is not of type 'number'"
    assert rejects[1]["reason"] == "$.price: -1.5 is less than the minimum of 0"
    assert "required property" in rejects[2]["reason"]
    assert [r["rule"] for r in rejects] == ["type", "range", "required"]  # was 'schema' for all: the keyword's rule now


def test_non_object_record_is_rejected_not_crashing(tmp_path):
    rows, rejects, _ = stage(PRODUCTS, tmp_path, envelope(["oops", None]))
    assert rows == []
    # jsonschema words the reason now (was "record 0 is str, not an object")
    assert [(r["line"], r["rule"], r["reason"]) for r in rejects] == [
        (1, "type", "$: 'oops' is not of type 'object'"), (2, "type", "$: None is not of type 'object'")]


def test_carts_explode_derive_duplicates_and_lookups(tmp_path):
    cart = {"id": 7, "userId": 3, "date": "2026-11-20T23:30:00.000Z",
            "products": [{"productId": 1, "quantity": 2}, {"productId": 1, "quantity": 2}, {"productId": 99, "quantity": 1}]}
    rows, rejects, _ = stage(CARTS, tmp_path, envelope([cart]), refs={"products": pa.array([1, 2], pa.int64())})
    assert rows == [{
        "cart_id": 7, "user_id": 3, "ordered_at": dt.datetime(2026, 11, 20, 23, 30, tzinfo=UTC),
        "order_date": dt.date(2026, 11, 20), "product_id": 1, "quantity": 2,
    }]
    by_rule = {r["rule"]: r for r in rejects}
    assert sorted(by_rule) == ["duplicate_key", "lookup"] and len(rejects) == 2
    assert by_rule["lookup"]["reason"] == "product_id = 99 not found in products.product_id for this ds"
    assert by_rule["lookup"]["record"]["item"] == {"productId": 99, "quantity": 1}
    # the duplicate names its winner now (was only rule 'duplicate_key')
    assert by_rule["duplicate_key"]["reason"] == \
        "duplicate cart_id, product_id = (7, 1): line 1 wins (the first in the file)"
    assert by_rule["duplicate_key"]["winner_line"] == 1


def test_cart_with_non_utc_offset_is_normalised(tmp_path):
    cart = {"id": 8, "userId": 1, "date": "2026-11-20T01:00:00+02:00", "products": [{"productId": 2, "quantity": 1}]}
    rows, rejects, _ = stage(CARTS, tmp_path, envelope([cart]), refs={"products": pa.array([2], pa.int64())})
    assert not rejects
    assert [r["order_date"] for r in rows] == [dt.date(2026, 11, 19)]
    assert rows[0]["ordered_at"] == dt.datetime(2026, 11, 19, 23, tzinfo=UTC)


def test_users_flatten_and_string_coordinates(tmp_path):
    user = {"id": 1, "email": "a@b.c", "username": "ab", "password": "secret", "name": {"firstname": "a", "lastname": "b"},
            "address": {"city": "x", "street": "y", "number": 5, "zipcode": "1", "geolocation": {"lat": "-37.31", "long": "81.1"}}}
    bad = {**user, "id": 2, "address": {**user["address"], "geolocation": {"lat": "n/a", "long": "1"}}}
    rows, rejects, _ = stage(USERS, tmp_path, envelope([user, bad]))
    row = rows[0]
    assert (row["latitude"], row["longitude"], row["first_name"], row["street_number"]) == (-37.31, 81.1, "a", 5)
    assert "password" not in row
    assert len(rows) == 1 and len(rejects) == 1 and "does not match" in rejects[0]["reason"]
    assert rejects[0]["rule"] == "pattern"  # was 'schema'


def test_values_beyond_the_staged_types_are_quarantined_not_crashing(tmp_path):
    big = [product(2**64, 10), product(2, 1e12), {**product(3, 1), "rating": {"rate": 4, "count": 2**31}}]
    rows, rejects, _ = stage(PRODUCTS, tmp_path, envelope(big + [product(4, 1)]))
    assert [r["product_id"] for r in rows] == [4]
    assert [r["record"]["id"] for r in rejects] == [2**64, 2, 3]
    assert all(r["rule"] == "range" and "greater than the maximum" in r["reason"] for r in rejects)  # was 'schema'


def test_a_value_the_schema_allows_but_arrow_cannot_hold_is_unrepresentable(tmp_path):
    narrow = replace(PRODUCTS, columns=tuple(
        replace(c, type=pa.int8()) if c.name == "rating_count" else c for c in PRODUCTS.columns))
    rows, rejects, _ = stage(narrow, tmp_path, envelope([product(1, 1), {**product(2, 1), "rating": {"rate": 4, "count": 300}}]))
    assert len(rows) == 1
    assert rejects[0]["rule"] == "unrepresentable" and rejects[0]["record"]["id"] == 2  # was 'parse'
