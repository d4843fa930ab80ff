"""FakeStore: products and users (snapshots as of ds) and carts (ordered in [ds, ds+1)), over HTTP.

Marts: ``mart.dim_product``, ``mart.dim_user``, ``mart.fact_sales`` (cart-line grain).
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from workflows.config import demo, fakestore
from workflows.declarations import Column, Entity, Http, Lookup, Mart, Pipeline
from workflows.demo.fakestore_server import demo_server

UTC_US = pa.timestamp("us", tz="UTC")


def base_url(ds: dt.date) -> str:
    """``[fakestore] base_url``, or the in-process demo server serving snapshots as of ds."""
    configured = fakestore().base_url.strip()
    return configured or demo_server(demo().seed, demo().size).base_url(ds)


PRODUCTS = Entity(
    name="products", schema="fakestore/products.json", source=Http("/products", snapshot=True),
    key=("product_id",), duplicates="first",
    columns=(
        Column("product_id", pa.int64(), "id"),
        Column("title", pa.string(), "title"),
        Column("price", pa.float64(), "price"),
        Column("description", pa.string(), "description", default=""),
        Column("category", pa.string(), "category"),
        Column("image_url", pa.string(), "image"),
        Column("rating_rate", pa.float64(), "rating.rate"),
        Column("rating_count", pa.int64(), "rating.count", default=0),
    ),
)

USERS = Entity(
    name="users", schema="fakestore/users.json", source=Http("/users", snapshot=True, drop_fields=("password",)),
    key=("user_id",), duplicates="first",
    columns=(
        Column("user_id", pa.int64(), "id"),
        Column("email", pa.string(), "email"),
        Column("username", pa.string(), "username"),
        Column("first_name", pa.string(), "name.firstname"),
        Column("last_name", pa.string(), "name.lastname"),
        Column("city", pa.string(), "address.city"),
        Column("street", pa.string(), "address.street"),
        Column("street_number", pa.int64(), "address.number"),
        Column("zipcode", pa.string(), "address.zipcode"),
        Column("latitude", pa.float64(), "address.geolocation.lat"),    # numeric text in the API
        Column("longitude", pa.float64(), "address.geolocation.long"),
        Column("phone", pa.string(), "phone"),
    ),
)

CARTS = Entity(
    name="carts", schema="fakestore/carts.json", source=Http("/carts", windowed=True),
    explode="products", key=("cart_id", "product_id"), duplicates="first",
    lookups=(Lookup(column="product_id", entity="products", key="product_id"),),
    columns=(
        Column("cart_id", pa.int64(), "id"),
        Column("user_id", pa.int64(), "userId"),
        Column("ordered_at", UTC_US, "date"),
        Column("order_date", pa.date32(), derive=lambda cols: pc.cast(cols["ordered_at"], pa.date32())),
        Column("product_id", pa.int64(), "item.productId"),
        Column("quantity", pa.int64(), "item.quantity"),
    ),
)

PIPELINE = Pipeline(
    name="fakestore",
    entities={e.name: e for e in (PRODUCTS, USERS, CARTS)},
    marts={
        "dim_product": Mart("dim_product", "fakestore/mart_dim_product.sql", ("products",)),
        "dim_user": Mart("dim_user", "fakestore/mart_dim_user.sql", ("users",)),
        "fact_sales": Mart("fact_sales", "fakestore/mart_fact_sales.sql", ("carts", "products")),
    },
    settings=fakestore,
    http_base=base_url,
)
