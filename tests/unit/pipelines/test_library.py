"""Staging of landed library table extracts (PostgreSQL COPY CSV) on tiny inline files."""
from __future__ import annotations

import datetime as dt

import jsonschema
import pytest

from tests.unit.pipelines.helpers import stage
from workflows.declarations import load_schema
from workflows.pipelines import library

MEMBERS = library.PIPELINE.entities["members"]
UTC = dt.timezone.utc
HEADER = "member_id,full_name,email,city,joined_at,is_active,updated_at,extra_col\n"


def test_csv_rows_are_typed_and_nulls_kept_apart_from_empty_strings(tmp_path):
    text = HEADER + (
        '1,Ana Silva,ana@example.org,,2026-01-02 03:04:05.5+00,t,2026-11-20 10:00:00+00,x\n'
        '2,"Bruno ""B"" Costa",bruno@example.org,"",2025-12-31 23:59:59+00,f,2026-11-20 11:00:00+00,y\n'
    )
    got, rejects, _ = stage(MEMBERS, tmp_path, text)
    assert (len(got), rejects) == (2, [])
    assert list(got[0]) == ["member_id", "full_name", "email", "city", "joined_at", "is_active", "updated_at"]
    assert got[0]["city"] is None and got[1]["city"] == ""
    assert got[1]["full_name"] == 'Bruno "B" Costa'
    assert got[0]["joined_at"] == dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert [r["is_active"] for r in got] == [True, False]


def test_broken_rows_are_quarantined_with_rule_reason_and_line(tmp_path):
    text = HEADER + (
        '1,Ana,ana@example.org,Faro,2026-01-02 00:00:00+00,t,2026-11-20 10:00:00+00,\n'          # line 2: ok
        '2,"Two\nLines",two@example.org,Faro,2026-01-02 00:00:00+00,t,2026-11-20 10:00:00+00,\n'  # lines 3-4: ok
        '3,Eva,,Faro,2026-01-02 00:00:00+00,maybe,2026-11-20 10:00:00+00,\n'                     # line 5: 2 faults
        '4,Hugo,hugo@example.org,Faro,yesterday,t,2026-11-20 10:00:00+00,\n'                     # line 6: bad time
        '1,Ana again,ana2@example.org,Faro,2026-01-02 00:00:00+00,t,2026-11-20 12:00:00+00,\n'   # line 7: dup key
        '5,Duarte,duarte@example.org,Porto,2026-01-02 00:00:00+00,f,2026-11-20 13:00:00+00,\n'   # line 8: ok
    )
    got, rejects, _ = stage(MEMBERS, tmp_path, text)
    assert [r["member_id"] for r in got] == [1, 2, 5]
    assert got[1]["full_name"] == "Two\nLines"
    by_line = {r["line"]: r for r in rejects}
    assert set(by_line) == {5, 6, 7}
    # line 5: one reason now, jsonschema's best match over both faults (was rule 'not_null' naming every fault)
    line5 = {"member_id": 3, "full_name": "Eva", "email": None, "city": "Faro", "joined_at": "2026-01-02 00:00:00+00",
             "is_active": "maybe", "updated_at": "2026-11-20 10:00:00+00"}
    best = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(load_schema("library/members.json")).iter_errors(line5))
    assert (by_line[5]["rule"], by_line[5]["reason"]) == ("type", f"{best.json_path}: {best.message}")
    assert by_line[6]["rule"] == "format" and "$.joined_at: 'yesterday'" in by_line[6]["reason"]  # was 'parse'
    assert by_line[7]["rule"] == "duplicate_key" and by_line[7]["record"]["full_name"] == "Ana again"
    assert by_line[7]["winner_line"] == 2
    assert all(r["record"]["member_id"] in ("3", "4", 1) for r in rejects)


def test_missing_column_is_a_clear_error_and_a_malformed_row_is_quarantined(tmp_path):
    with pytest.raises(ValueError, match=r"lacks required column\(s\) email"):  # was "source columns missing: email"
        stage(MEMBERS, tmp_path, "member_id,full_name,city,joined_at,is_active,updated_at\n")
    # a row with too many fields is quarantined on its own now (was: the whole file failed, "malformed CSV")
    got, rejects, _ = stage(MEMBERS, tmp_path, HEADER + "1,Ana,a@x,Faro,2026-01-02 00:00:00+00,t,2026-11-20 10:00:00+00,,,\n"
                            "2,Bo,b@x,Faro,2026-01-02 00:00:00+00,t,2026-11-20 10:00:00+00,\n")
    assert [r["member_id"] for r in got] == [2]
    assert [(r["line"], r["rule"], r["reason"]) for r in rejects] == [(2, "csv", "expected 8 fields, found 10")]
