"""Lake keys and atomic local writes, the COPY stream reader, and the HTTP retry policy (real sockets)."""
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from targets.lake import LakeTarget, lake_key
from tests.conftest import luigi_settings
from workflows.load import BatchReader
from workflows.sources import http


def test_lake_key_layout():
    assert lake_key("raw", "fakestore", "carts", "2026-11-20", "carts.json") == "raw/fakestore/carts/ds=2026-11-20/carts.json"


def test_local_write_is_atomic(tmp_path):
    with luigi_settings({"lake": {"root": str(tmp_path)}}):
        target = LakeTarget("raw/p/e/ds=2026-01-01/x.json")
        with pytest.raises(RuntimeError):
            with target.writing() as path:
                open(path, "w").write("half")
                raise RuntimeError("crash mid-write")
        assert not target.exists()
        assert not list((tmp_path / "raw/p/e/ds=2026-01-01").iterdir())  # no temp file left behind
        target.write_bytes(b"whole")
        assert target.read_bytes() == b"whole"


def test_unknown_lake_scheme_is_a_clear_error():
    with luigi_settings({"lake": {"root": "gs://bucket"}}):
        with pytest.raises(ValueError, match="unsupported scheme"):
            LakeTarget("x")


def test_batch_reader_concatenates_chunks_across_read_sizes():
    chunks = [b"abc", b"", b"defgh", b"i"]
    reader = io.BufferedReader(BatchReader(iter(chunks)), buffer_size=2)
    assert reader.read(4) + reader.read() == b"abcdefghi"


class _Flaky(BaseHTTPRequestHandler):
    plan: list[int] = []
    hits = 0

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        status = type(self).plan[min(type(self).hits, len(type(self).plan) - 1)]
        type(self).hits += 1
        body = b"[1, 2]" if status == 200 else b"{}"
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


def test_retries_503_and_429_then_succeeds(flaky):
    _Flaky.plan, _Flaky.hits = [503, 429, 200], 0
    assert http.get_json_list(http.session(3, 0), flaky, None, (2, 2)) == [1, 2]
    assert _Flaky.hits == 3


def test_gives_up_with_a_clear_error(flaky):
    _Flaky.plan, _Flaky.hits = [502], 0
    with pytest.raises(http.SourceError, match="answered HTTP 502"):
        http.get_json_list(http.session(1, 0), flaky, None, (2, 2))
    assert _Flaky.hits == 2


def test_non_array_body_is_a_clear_error(flaky):
    _Flaky.plan, _Flaky.hits = [404], 0
    with pytest.raises(http.SourceError, match="HTTP 404"):
        http.get_json_list(http.session(0, 0), flaky, None, (2, 2))


def test_real_api_snapshots_are_not_landed_under_an_old_ds():
    import datetime as dt

    from workflows.pipelines.fakestore import CARTS, PRODUCTS, fetch

    old = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=30)
    with luigi_settings({"fakestore": {"base_url": "http://127.0.0.1:9", "retries": "0"}}):
        with pytest.raises(http.SourceError, match=r"products is a snapshot .* 30 days old"):
            fetch(PRODUCTS, old)
        with pytest.raises(http.SourceError, match="GET http://127.0.0.1:9/carts failed"):  # windowed: it tries
            fetch(CARTS, old)
