"""Landing a content drop: byte-for-byte copy, its meta, a clear error when the drop is missing, generated drops."""
import datetime as dt
import hashlib

import pytest

from tests.conftest import luigi_settings
from workflows.demo.content_data import write_drop
from workflows.pipelines.content import GA4_EVENTS, GAM_DELIVERY
from workflows.pipelines.content.landing import land

DS = dt.date(2026, 11, 20)


def test_local_landing_is_copied_unchanged_with_meta(tmp_path):
    drop = tmp_path / "landing" / "ga4_events_20261120.csv"
    drop.parent.mkdir()
    body = b'event_timestamp,event_name\r\n"2026-11-20T00:00:00Z",click\r\n\r\nbroken\r\n'
    drop.write_bytes(body)
    out = tmp_path / "raw.csv"
    with luigi_settings({"content": {"landing": str(drop.parent)}}):
        meta = land(GA4_EVENTS, DS, str(out))
    assert out.read_bytes() == body
    assert meta["record_count"] == 2  # the blank line is no record; the broken one is
    assert meta["fields"] == ["event_timestamp", "event_name"]
    assert (meta["bytes"], meta["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert meta["source"] == str(drop)


def test_missing_drop_is_a_clear_error(tmp_path):
    with luigi_settings({"content": {"landing": str(tmp_path)}}):
        with pytest.raises(FileNotFoundError, match="gam_delivery_20261120.csv"):
            land(GAM_DELIVERY, DS, str(tmp_path / "raw.csv"))


def test_empty_landing_generates_the_days_drop(tmp_path):
    with luigi_settings({"content": {"landing": "", "demo_events": "300"}, "demo": {"seed": "5", "size": "2"}}):
        meta = land(GAM_DELIVERY, DS, str(tmp_path / "raw.csv"))
    expected = write_drop(tmp_path / "expected", 5, DS, 600)["gam_delivery"]  # seed 5, 300 rows x size 2
    assert (tmp_path / "raw.csv").read_bytes() == expected.read_bytes()
    assert meta["source"] == "generated:gam_delivery_20261120.csv"
    assert meta["record_count"] == len(expected.read_text().splitlines()) - 1
