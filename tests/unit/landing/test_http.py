"""The HTTP source's retry policy and its clear errors, against a real server on 127.0.0.1."""
import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import luigi_settings
from workflows.landing import SourceError, http
from workflows.pipelines import fakestore


class _Flaky(BaseHTTPRequestHandler):
    plan: list[int] = []
    hits = 0

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        status = type(self).plan[min(type(self).hits, len(type(self).plan) - 1)]
        type(self).hits += 1
        body = b"[1, 2]" if status == 200 else b"{}"
        if status == 299:  # a 200 whose body is not the JSON it claims
            status, body = 200, b"[1, 2"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/x"
    httpd.shutdown()
    httpd.server_close()


def test_retries_503_and_429_then_succeeds(flaky):
    _Flaky.plan, _Flaky.hits = [503, 429, 200], 0
    assert http.get_json_list(http.session(3, 0), flaky, None, (2, 2)) == [1, 2]
    assert _Flaky.hits == 3


def test_gives_up_with_a_clear_error(flaky):
    _Flaky.plan, _Flaky.hits = [502], 0
    with pytest.raises(SourceError, match="answered HTTP 502"):
        http.get_json_list(http.session(1, 0), flaky, None, (2, 2))
    assert _Flaky.hits == 2


def test_non_200_answer_is_a_clear_error(flaky):
    _Flaky.plan, _Flaky.hits = [404], 0
    with pytest.raises(SourceError, match="HTTP 404"):
        http.get_json_list(http.session(0, 0), flaky, None, (2, 2))


def test_a_body_that_is_not_json_is_retried_then_a_clear_error(flaky):
    _Flaky.plan, _Flaky.hits = [299, 200], 0
    assert http.get_json_list(http.session(0, 0), flaky, None, (2, 2), retries=1, backoff_factor=0) == [1, 2]
    assert _Flaky.hits == 2
    _Flaky.plan, _Flaky.hits = [299], 0
    with pytest.raises(SourceError, match=r"did not return JSON: .* \(after 2 attempts\)"):
        http.get_json_list(http.session(0, 0), flaky, None, (2, 2), retries=1, backoff_factor=0)


def test_real_api_snapshots_are_not_landed_under_an_old_ds(tmp_path):
    old = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=30)
    with luigi_settings({"fakestore": {"base_url": "http://127.0.0.1:9", "retries": "0"}}):
        with pytest.raises(SourceError, match=r"products is a snapshot .* 30 days old"):
            http.land(fakestore.PIPELINE, fakestore.PRODUCTS, old, str(tmp_path / "products.json"))
        with pytest.raises(SourceError, match="GET http://127.0.0.1:9/carts failed"):  # windowed: it tries
            http.land(fakestore.PIPELINE, fakestore.CARTS, old, str(tmp_path / "carts.json"))
