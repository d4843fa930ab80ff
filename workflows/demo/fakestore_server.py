"""An in-process FakeStore-compatible HTTP server on 127.0.0.1 serving generated data.

Snapshots (products, users) are served as of a date given in the path:
``http://127.0.0.1:<port>/asof/2026-11-20/products``. Carts honour the real
API's ``startdate`` / ``enddate`` query (start inclusive, end exclusive).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from workflows.demo import fakestore_data as data


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeStoreDemo/1.0"

    def log_message(self, fmt, *args):  # quiet: the run log is Luigi's
        pass

    def _send(self, status: int, body) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802 - http.server API
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        seed, size = self.server.seed, self.server.size
        try:
            if len(parts) != 3 or parts[0] != "asof":
                return self._send(404, {"error": f"unknown path {url.path}"})
            asof, resource = dt.date.fromisoformat(parts[1]), parts[2]
            if resource == "products":
                return self._send(200, data.products(seed, size, asof))
            if resource == "users":
                return self._send(200, data.users(seed, size, asof))
            if resource == "carts":
                query = parse_qs(url.query)
                start = dt.date.fromisoformat(query.get("startdate", [str(data.EPOCH)])[0])
                end = dt.date.fromisoformat(query.get("enddate", [str(asof + dt.timedelta(days=1))])[0])
                return self._send(200, data.carts(seed, size, start, end))
            return self._send(404, {"error": f"unknown resource {resource}"})
        except ValueError as exc:
            return self._send(400, {"error": str(exc)})


class DemoServer:
    """A running demo server; ``base_url(ds)`` is the API base as of ``ds``."""

    def __init__(self, seed: int, size: int):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.seed, self.httpd.size = seed, size
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fakestore-demo", daemon=True)
        self.thread.start()

    def base_url(self, ds: dt.date) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/asof/{ds}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_running: dict[tuple[int, int, int], DemoServer] = {}


def demo_server(seed: int, size: int) -> DemoServer:
    """The process's demo server for (seed, size), started on first use."""
    import os

    key = (os.getpid(), seed, size)
    if key not in _running:
        _running[key] = DemoServer(seed, size)
    return _running[key]
