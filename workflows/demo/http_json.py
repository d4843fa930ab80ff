"""Shared plumbing of the in-process demo APIs: a quiet JSON request handler and a threaded server."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers JSON and leaves logging to Luigi."""

    def log_message(self, fmt, *args):  # quiet: the run log is Luigi's
        pass

    def send_json(self, status: int, body) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start_server(handler: type[JsonHandler], name: str) -> ThreadingHTTPServer:
    """Serve ``handler`` on 127.0.0.1 (a free port) from a daemon thread."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name=name, daemon=True).start()
    return httpd
