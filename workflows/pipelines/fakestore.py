"""FakeStore: products and users (snapshots as of ds) and carts (ordered in [ds, ds+1)).

Marts: ``mart.dim_product``, ``mart.dim_user``, ``mart.fact_sales`` (cart-line grain).
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from workflows.config import demo, fakestore
from workflows.declarations import Column, Entity, Lookup, Mart, Pipeline
from workflows.sources import http


def parse_ts(value: str) -> dt.datetime:
    """ISO-8601 instant ('2020-03-02T00:00:00.000Z') -> aware UTC datetime."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _base_url(ds: dt.date) -> str:
    cfg = fakestore()
    if cfg.base_url.strip():
        return cfg.base_url.strip().rstrip("/")
    from workflows.demo.fakestore_server import demo_server

    d = demo()
    return demo_server(d.seed, d.size).base_url(ds)


def fetch(entity: Entity, ds: dt.date) -> tuple[list[dict], dict]:
    """Records of ``entity`` for ``ds`` from the FakeStore API, and where they came from.

    The real API has no history for products and users: it answers today's snapshot. Landing
    that under an old ds would give old carts today's prices, so it is refused (carts, fetched
    by date window, backfill fine). The demo server serves snapshots as of any ds."""
    cfg = fakestore()
    age = (dt.datetime.now(dt.timezone.utc).date() - ds).days
    if cfg.base_url.strip() and not entity.windowed and age > cfg.snapshot_max_age_days:
        raise http.SourceError(
            f"{entity.name} is a snapshot the API serves as of now; ds {ds} is {age} days old "
            f"(> [fakestore] snapshot_max_age_days = {cfg.snapshot_max_age_days}): not landed under a past ds"
        )
    url = f"{_base_url(ds)}{entity.endpoint}"
    params = {"startdate": str(ds), "enddate": str(ds + dt.timedelta(days=1))} if entity.windowed else None
    with http.session(cfg.retries, cfg.backoff_factor) as s:
        records = http.get_json_list(s, url, params, (cfg.connect_timeout, cfg.read_timeout))
    return records, {"source_url": url, "params": params}


PRODUCTS = Entity(
    name="products",
    schema="fakestore/products.json",
    endpoint="/products",
    key=("product_id",),
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
    name="users",
    schema="fakestore/users.json",
    endpoint="/users",
    key=("user_id",),
    drop_fields=("password",),
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
        Column("latitude", pa.float64(), "address.geolocation.lat", parse=float),
        Column("longitude", pa.float64(), "address.geolocation.long", parse=float),
        Column("phone", pa.string(), "phone"),
    ),
)

CARTS = Entity(
    name="carts",
    schema="fakestore/carts.json",
    endpoint="/carts",
    windowed=True,
    explode="products",
    key=("cart_id", "product_id"),
    lookups=(Lookup(column="product_id", entity="products", key="product_id"),),
    columns=(
        Column("cart_id", pa.int64(), "id"),
        Column("user_id", pa.int64(), "userId"),
        Column("ordered_at", pa.timestamp("us", tz="UTC"), "date", parse=parse_ts),
        Column("order_date", pa.date32(), derive=lambda row: row["ordered_at"].date()),
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
    fetch=fetch,
)
