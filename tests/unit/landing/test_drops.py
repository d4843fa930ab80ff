"""Landing a file drop: byte-for-byte copy with its meta, one clear line when the drop is missing, generated drops."""
import datetime as dt
import hashlib

import pytest

from tests.conftest import luigi_settings
from workflows import landing
from workflows.demo.content_data import write_drop
from workflows.pipelines import activity, content

DS = dt.date(2026, 11, 20)


def test_local_landing_is_copied_unchanged_with_meta(tmp_path):
    drop = tmp_path / "landing" / "ga4_events_20261120.csv"
    drop.parent.mkdir()
    body = b'event_timestamp,event_name\r\n"2026-11-20T00:00:00Z",click\r\n\r\nbroken\r\n'
    drop.write_bytes(body)
    out = tmp_path / "raw.csv"
    with luigi_settings({"content": {"landing": str(drop.parent)}}):
        meta = landing.land(content.PIPELINE, content.GA4_EVENTS, DS, str(out))
    assert out.read_bytes() == body
    assert meta["lines"] == 2  # the blank line is no record; the broken one is (was "record_count")
    assert meta["fields"] == ["event_timestamp", "event_name"]
    assert (meta["bytes"], meta["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    assert meta["source"] == str(drop)


@pytest.mark.parametrize("pipeline, entity, name", [
    (content.PIPELINE, content.GAM_DELIVERY, "gam_delivery_20261120.csv"),
    (activity.PIPELINE, activity.API_LOGS, "api_logs_20261120.jsonl"),
], ids=["content", "activity"])
def test_missing_drop_is_a_clear_error(tmp_path, pipeline, entity, name):
    # one lander for both now: DropMissing (was FileNotFoundError for content, activity's own DropMissing)
    with luigi_settings({pipeline.name: {"landing": str(tmp_path)}}):
        with pytest.raises(landing.DropMissing,
                           match=rf"{pipeline.name} drop not found: .*{name} \(\[{pipeline.name}\] landing\)"):
            landing.land(pipeline, entity, DS, str(tmp_path / "raw"))


def test_empty_landing_generates_the_days_drop(tmp_path):
    with luigi_settings({"content": {"landing": "", "demo_events": "300"}, "demo": {"seed": "5", "size": "2"}}):
        meta = landing.land(content.PIPELINE, content.GAM_DELIVERY, DS, str(tmp_path / "raw.csv"))
    expected = write_drop(tmp_path / "expected", 5, DS, 600)["gam_delivery"]  # seed 5, 300 rows x size 2
    assert (tmp_path / "raw.csv").read_bytes() == expected.read_bytes()
    assert meta["source"] == "generated:gam_delivery_20261120.csv"
    assert meta["lines"] == len(expected.read_text().splitlines()) - 1
