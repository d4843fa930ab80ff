"""Stage rules on tiny inline records: schema, explode, parse/derive, duplicate keys, lookups."""
import datetime as dt

from workflows.pipelines.fakestore import CARTS, PRODUCTS, USERS
from workflows.stage import stage_records


def product(pid, price, **extra):
    return {"id": pid, "title": f"p{pid}", "price": price, "category": "c", "rating": {"rate": 4.5, "count": 3}, **extra}


def test_products_cast_and_reject_bad_prices():
    table, rejects = stage_records(PRODUCTS, [product(1, 10), product(2, 9.99), product(3, "N/A"), product(4, -1.5), {"id": 5}])
    assert table.column("product_id").to_pylist() == [1, 2]
    assert table.column("price").to_pylist() == [10.0, 9.99]
    assert table.column("description").to_pylist() == ["", ""]  # declared default
    assert [r["record"]["id"] for r in rejects] == [3, 4, 5]
    assert rejects[0]["reason"] == "$.price: 'N/A' is not of type 'number'"
    assert rejects[1]["reason"] == "$.price: -1.5 is less than the minimum of 0"
    assert "required property" in rejects[2]["reason"]
    assert {r["rule"] for r in rejects} == {"schema"}


def test_non_object_record_is_rejected_not_crashing():
    table, rejects = stage_records(PRODUCTS, ["oops", None])
    assert table.num_rows == 0
    assert [r["reason"] for r in rejects] == ["record 0 is str, not an object", "record 1 is NoneType, not an object"]


def test_carts_explode_derive_duplicates_and_lookups():
    cart = {"id": 7, "userId": 3, "date": "2026-11-20T23:30:00.000Z",
            "products": [{"productId": 1, "quantity": 2}, {"productId": 1, "quantity": 2}, {"productId": 99, "quantity": 1}]}
    table, rejects = stage_records(CARTS, [cart], {"products": {1, 2}})
    assert table.to_pylist() == [{
        "cart_id": 7, "user_id": 3, "ordered_at": dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.timezone.utc),
        "order_date": dt.date(2026, 11, 20), "product_id": 1, "quantity": 2,
    }]
    assert [r["rule"] for r in rejects] == ["duplicate_key", "lookup"]
    assert rejects[1]["reason"] == "product_id = 99 not found in products.product_id for this ds"
    assert rejects[1]["record"]["item"] == {"productId": 99, "quantity": 1}


def test_cart_with_non_utc_offset_is_normalised():
    cart = {"id": 8, "userId": 1, "date": "2026-11-20T01:00:00+02:00", "products": [{"productId": 2, "quantity": 1}]}
    table, rejects = stage_records(CARTS, [cart], {"products": {2}})
    assert not rejects
    assert table.column("order_date").to_pylist() == [dt.date(2026, 11, 19)]


def test_users_flatten_and_string_coordinates():
    user = {"id": 1, "email": "a@b.c", "username": "ab", "password": "secret", "name": {"firstname": "a", "lastname": "b"},
            "address": {"city": "x", "street": "y", "number": 5, "zipcode": "1", "geolocation": {"lat": "-37.31", "long": "81.1"}}}
    table, rejects = stage_records(USERS, [user, {**user, "id": 2, "address": {**user["address"], "geolocation": {"lat": "n/a", "long": "1"}}}])
    row = table.to_pylist()[0]
    assert (row["latitude"], row["longitude"], row["first_name"], row["street_number"]) == (-37.31, 81.1, "a", 5)
    assert "password" not in row
    assert len(rejects) == 1 and "does not match" in rejects[0]["reason"]


def test_values_beyond_the_staged_types_are_quarantined_not_crashing():
    big = [product(2**64, 10), product(2, 1e12), {**product(3, 1), "rating": {"rate": 4, "count": 2**31}}]
    table, rejects = stage_records(PRODUCTS, big + [product(4, 1)])
    assert table.column("product_id").to_pylist() == [4]
    assert [r["record"]["id"] for r in rejects] == [2**64, 2, 3]
    assert all(r["rule"] == "schema" and "greater than the maximum" in r["reason"] for r in rejects)


def test_a_value_the_schema_allows_but_arrow_cannot_hold_is_a_parse_reject():
    from dataclasses import replace

    import pyarrow as pa

    narrow = replace(PRODUCTS, columns=tuple(
        replace(c, type=pa.int8()) if c.name == "rating_count" else c for c in PRODUCTS.columns))
    table, rejects = stage_records(narrow, [product(1, 1), {**product(2, 1), "rating": {"rate": 4, "count": 300}}])
    assert table.num_rows == 1
    assert rejects[0]["rule"] == "parse" and rejects[0]["record"]["id"] == 2
