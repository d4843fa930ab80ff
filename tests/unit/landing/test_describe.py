"""What landing counts in a file, independently of staging: non-blank lines, bytes, sha256, the CSV header."""
import hashlib

from workflows.landing.describe import describe


def test_jsonl_counts_non_blank_lines(tmp_path):
    path = tmp_path / "drop.jsonl"
    body = b'{"a": 1, "b": 2}\n\n   \nnot json\n{"c": 3}\n[1]\n{"a": 2}'  # no final newline
    path.write_bytes(body)
    # the lines (was landing.scan's count; its keys are now the reader's, see pipelines/test_activity.py)
    assert describe(str(path), "jsonl") == {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(), "lines": 5}


def test_csv_counts_records_lines_without_the_header_and_reads_it(tmp_path):
    path = tmp_path / "ga4_events_20261120.csv"
    body = b'event_timestamp,event_name\r\n"2026-11-20T00:00:00Z",click\r\n\r\nbroken\r\n'
    path.write_bytes(body)
    meta = describe(str(path), "csv")
    assert meta["lines"] == 2  # the blank line is no record; the broken one is (was "record_count")
    assert meta["fields"] == ["event_timestamp", "event_name"]
    assert (meta["bytes"], meta["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def test_a_bom_is_not_content_and_a_header_only_csv_has_no_lines(tmp_path):
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b'\xef\xbb\xbf\n{"a": 1}\n')
    assert describe(str(bom), "jsonl")["lines"] == 1
    header = tmp_path / "header.csv"
    header.write_bytes(b"\xef\xbb\xbfa,b\n")
    assert (describe(str(header), "csv")["lines"], describe(str(header), "csv")["fields"]) == (0, ["a", "b"])
