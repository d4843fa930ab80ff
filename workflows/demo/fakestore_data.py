"""FakeStore-shaped generated data (products, users, carts) with injected defects.

Per ds the generator injects, deterministically:
- a product whose price is a non-numeric string, and one with a negative price;
- a user without the required ``email``;
- a cart with one line duplicated, and a cart with a line for unknown product 9999.
Carts only reference products and users that are valid on their day, so every
other cart line has a valid product.
"""
from __future__ import annotations

import datetime as dt
import random

CATEGORIES = ("electronics", "jewelery", "men's clothing", "women's clothing")
FIRST = ("john", "david", "kevin", "don", "derek", "david", "miriam", "william", "kate", "jimmie")
LAST = ("doe", "morrison", "ryan", "romer", "powell", "russell", "snyder", "hopkins", "hale", "klein")
CITIES = ("kilcoole", "san antonio", "cullman", "el paso", "fresno", "mesa", "miami fl", "fort wayne")
EPOCH = dt.date(2020, 1, 1)
UNKNOWN_PRODUCT_ID = 9999


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random("|".join(map(str, (seed, *parts))))


def _price(rng: random.Random) -> float | int:
    price = round(rng.uniform(5, 1000), 2)
    return int(price) if rng.random() < 0.25 else price  # the real API mixes 109.95 and 55


def products(seed: int, size: int, ds: dt.date) -> list[dict]:
    n = 20 * size
    out = []
    for pid in range(1, n + 1):
        r = _rng(seed, "product", pid)
        rate = round(r.uniform(1, 5), 1)
        out.append({
            "id": pid,
            "title": f"Product {pid} {r.choice(('Backpack', 'Jacket', 'Ring', 'SSD', 'Monitor', 'Shirt'))}",
            "price": _price(r),
            "description": f"Description of product {pid}",
            "category": r.choice(CATEGORIES),
            "image": f"https://fakestoreapi.com/img/{pid}.jpg",
            "rating": {"rate": int(rate) if r.random() < 0.2 else rate, "count": r.randint(0, 700)},
        })
    day = _rng(seed, "product-defects", ds)
    bad, negative = day.sample(range(n), 2)
    out[bad]["price"] = "N/A"
    out[negative]["price"] = -abs(float(out[negative]["price"]) or 1.0)
    return out


def users(seed: int, size: int, ds: dt.date) -> list[dict]:
    n = 10 * size
    out = []
    for uid in range(1, n + 1):
        r = _rng(seed, "user", uid)
        first, last = r.choice(FIRST), r.choice(LAST)
        out.append({
            "address": {
                "geolocation": {"lat": f"{r.uniform(-60, 60):.4f}", "long": f"{r.uniform(-150, 150):.4f}"},
                "city": r.choice(CITIES),
                "street": f"{r.choice(('main', 'oak', 'hill', 'lake'))} street",
                "number": r.randint(1, 9999),
                "zipcode": f"{r.randint(10000, 99999)}-{r.randint(1000, 9999)}",
            },
            "id": uid,
            "email": f"{first}.{last}{uid}@example.com",
            "username": f"{first[0]}{last}{uid}",
            "password": f"pw-{r.getrandbits(32):08x}",
            "name": {"firstname": first, "lastname": last},
            "phone": f"1-{r.randint(100, 999)}-{r.randint(100, 999)}-{r.randint(1000, 9999)}",
            "__v": 0,
        })
    missing = _rng(seed, "user-defects", ds).randrange(n)
    del out[missing]["email"]
    return out


def valid_ids(records: list[dict], ok) -> list[int]:
    return [r["id"] for r in records if ok(r)]


def carts_for_day(seed: int, size: int, day: dt.date) -> list[dict]:
    prods = valid_ids(products(seed, size, day), lambda p: isinstance(p["price"], (int, float)) and p["price"] >= 0)
    usrs = valid_ids(users(seed, size, day), lambda u: "email" in u)
    r = _rng(seed, "carts", day)
    base_id = (day - EPOCH).days * 1000
    out = []
    for i in range(10 * size):
        at = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=r.randrange(86400))
        lines = [{"productId": pid, "quantity": r.randint(1, 6)} for pid in r.sample(prods, r.randint(1, 4))]
        out.append({
            "id": base_id + i + 1,
            "userId": r.choice(usrs),
            "date": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "products": lines,
            "__v": 0,
        })
    out[0]["products"].append(dict(out[0]["products"][0]))  # duplicated cart line
    out[1]["products"].append({"productId": UNKNOWN_PRODUCT_ID, "quantity": 1})  # unknown product
    return out


def carts(seed: int, size: int, start: dt.date, end: dt.date) -> list[dict]:
    """Carts with ``start <= date < end`` (the real API's startdate/enddate window)."""
    out = []
    day = start
    while day < end:
        out.extend(carts_for_day(seed, size, day))
        day += dt.timedelta(days=1)
    return out
