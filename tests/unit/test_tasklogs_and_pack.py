"""Secret masking of task logs, and the pack's rule for which rows of a mart belong to a ds."""
from __future__ import annotations

import datetime as dt

from tests.conftest import luigi_settings
from workflows.pack_files import _rows_rule
from workflows.tasklogs import MASK, redact, secret_values


def test_secret_values_come_from_secret_named_options_dsns_urls_and_the_environment(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_PASSWORD", "env-password-1")
    monkeypatch.setenv("HARMLESS_SETTING", "not-a-secret-1")
    settings = {"warehouse": {"dsn": "host=db user=wh password=dsn-pw-123 dbname=wh"},
                "bikes": {"source_dsn": "postgresql://app:uri-pw-456@oltp:5432/bikes"},
                "alerts": {"webhook_url": "https://hooks.example/services/T1/B2/tok3n"},
                "activity": {"pseudonym_key": "hmac-key-789"},
                "s3": {"aws_secret_access_key": "s3-secret-000", "endpoint_url": "http://minio:9000"}}
    with luigi_settings(settings):
        found = secret_values()
    assert {"dsn-pw-123", "uri-pw-456", "https://hooks.example/services/T1/B2/tok3n", "hmac-key-789",
            "s3-secret-000", "env-password-1"} <= found
    assert not {"not-a-secret-1", "http://minio:9000", "wh", "db"} & found


def test_redact_masks_known_values_and_password_forms():
    text = ("connect postgresql://wh:p4ss@db/wh then password=hunter22 and PASSWORD: 'quoted pw' "
            "key hmac-key-789 in hmac-key-7890")
    out = redact(text, {"hmac-key-789"})
    assert out == (f"connect postgresql://wh:{MASK}@db/wh then password={MASK} and PASSWORD: {MASK} "
                   f"key {MASK} in {MASK}0")


def test_rows_of_a_ds_are_read_off_the_table():
    d = dt.date(2026, 11, 20)

    def col(name, type_="text", pk=None):
        return {"name": name, "type": type_, "pk": pk}

    assert _rows_rule([col("id", "int8", 0), col("ds", "date")], d)[1] == "ds = 2026-11-20"
    assert _rows_rule([col("id", "int8", 0), col("first_seen_ds", "date"), col("last_seen_ds", "date")], d)[1] == \
        "first_seen_ds <= 2026-11-20 <= last_seen_ds"
    assert _rows_rule([col("content_id", "text", 1), col("event_date", "date", 0)], d)[1] == "event_date = 2026-11-20"
    assert _rows_rule([col("date_key", "int4", 0), col("date", "date")], d)[1] == "all rows"
