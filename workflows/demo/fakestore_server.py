"""An in-process FakeStore-compatible HTTP server on 127.0.0.1 serving generated data.

Snapshots (products, users) are served as of a date given in the path:
``http://127.0.0.1:<port>/asof/2026-11-20/products``. Carts honour the real
API's ``startdate`` / ``enddate`` query (start inclusive, end exclusive).
"""
from __future__ import annotations

import datetime as dt
import os
from urllib.parse import parse_qs, urlparse

from workflows.demo import fakestore_data as data
from workflows.demo.http_json import JsonHandler, start_server


class _Handler(JsonHandler):
    server_version = "FakeStoreDemo/1.0"

    def do_GET(self):  # noqa: N802 - http.server API
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        seed, size = self.server.seed, self.server.size
        try:
            if len(parts) != 3 or parts[0] != "asof":
                return self.send_json(404, {"error": f"unknown path {url.path}"})
            asof, resource = dt.date.fromisoformat(parts[1]), parts[2]
            if resource == "products":
                return self.send_json(200, data.products(seed, size, asof))
            if resource == "users":
                return self.send_json(200, data.users(seed, size, asof))
            if resource == "carts":
                query = parse_qs(url.query)
                start = dt.date.fromisoformat(query.get("startdate", [str(data.EPOCH)])[0])
                end = dt.date.fromisoformat(query.get("enddate", [str(asof + dt.timedelta(days=1))])[0])
                return self.send_json(200, data.carts(seed, size, start, end))
            return self.send_json(404, {"error": f"unknown resource {resource}"})
        except ValueError as exc:
            return self.send_json(400, {"error": str(exc)})


class DemoServer:
    """A running demo server; ``base_url(ds)`` is the API base as of ``ds``."""

    def __init__(self, seed: int, size: int):
        self.httpd = start_server(_Handler, "fakestore-demo")
        self.httpd.seed, self.httpd.size = seed, size

    def base_url(self, ds: dt.date) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/asof/{ds}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_running: dict[tuple[int, int, int], DemoServer] = {}


def demo_server(seed: int, size: int) -> DemoServer:
    """The process's demo server for (seed, size), started on first use."""
    key = (os.getpid(), seed, size)
    if key not in _running:
        _running[key] = DemoServer(seed, size)
    return _running[key]
