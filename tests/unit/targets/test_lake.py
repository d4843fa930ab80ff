"""Lake keys and atomic local writes."""
import pytest

from targets.lake import LakeTarget, lake_key


def test_lake_key_layout():
    assert lake_key("raw", "fakestore", "carts", "2026-11-20", "carts.json") == "raw/fakestore/carts/ds=2026-11-20/carts.json"


def test_local_write_is_atomic(tmp_path):
    target = LakeTarget("raw/p/e/ds=2026-01-01/x.json", str(tmp_path))
    with pytest.raises(RuntimeError):
        with target.writing() as path:
            open(path, "w").write("half")
            raise RuntimeError("crash mid-write")
    assert not target.exists()
    assert not list((tmp_path / "raw/p/e/ds=2026-01-01").iterdir())  # no temp file left behind
    target.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"


def test_unknown_lake_scheme_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported scheme"):
        LakeTarget("x", "gs://bucket")
