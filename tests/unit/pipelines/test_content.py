"""Content CSV staging on tiny inline files: typing, quarantine rules and reasons, line numbers, NULL vs ''."""
import datetime as dt
import hashlib
import random
import re
from decimal import Decimal

import jsonschema
import pytest

from tests.unit.pipelines.helpers import stage
from workflows.declarations import LINE, load_schema
from workflows.landing.describe import describe
from workflows.pipelines.content import CMS_ARTICLES, GA4_EVENTS, GAM_DELIVERY
from workflows.staging import readers
from workflows.staging.contract import ContractError, compile_contract

UTC = dt.timezone.utc
GA4_HEADER = "event_timestamp,event_name,user_pseudo_id,session_id,content_id,page_location,engagement_time_msec,device_category,country"
GAM_HEADER = "served_at,site,ad_unit,line_item,creative,content_id,impressions,clicks,revenue_usd"


def csv(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def test_ga4_rows_are_typed_and_bad_lines_quarantined_with_rule_reason_and_line(tmp_path):
    lines = [
        GA4_HEADER,
        '"2026-11-20T10:00:00.123456Z","page_view","1.16",1795168800,7,"https://x/a/7",,"mobile","US"',
        "not,enough,fields",
        "2026-11-20T11:00:00+02:00,scroll,2.16,1795168800,8,,1500,,",
        "2026-11-20T25:00:00Z,page_view,1.16,1795168800,7,,,mobile,US",
        "2026-11-20T10:00:00Z,purchase,1.16,1795168800,7,,,mobile,US",
        "2026-11-20T10:00:00Z,click,1.16,first,7,,,mobile,US",
        "2026-11-20T10:00:00Z,click,,1795168800,7,,,mobile,US",
        "2026-11-20T10:00:00Z,click,1.16,1795168800,7,,-1,mobile,US",
        "2026-11-20T10:00:00Z,click,1.16,1795168800,7,,,phone,US",
        "2026-11-20 10:00:00Z,click,1.16,1795168800,7,,,mobile,US",
    ]
    staged, rejects, _ = stage(GA4_EVENTS, tmp_path, csv(lines))
    first = {"event_at": dt.datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC), "event_name": "page_view",
             "user_pseudo_id": "1.16", "session_id": 1795168800, "content_id": 7, "page_location": "https://x/a/7",
             "engagement_time_msec": None, "device_category": "mobile", "country": "US"}
    second = {"event_at": dt.datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "event_name": "scroll", "user_pseudo_id": "2.16",
              "session_id": 1795168800, "content_id": 8, "page_location": None, "engagement_time_msec": 1500,
              "device_category": None, "country": None}
    assert staged == [{**first, "row_hash": ga4_hash(first)}, {**second, "row_hash": ga4_hash(second)}]
    got = [(r["line"], r["rule"], r["reason"]) for r in rejects]
    # rules by the schema keyword and reasons in jsonschema's words (were 'schema' / 'type' with Arrow's type names)
    assert got == [
        (3, "csv", "expected 9 fields, found 3"),
        (5, "format", "$.event_timestamp: '2026-11-20T25:00:00Z' is not a 'date-time'"),
        (6, "enum", "$.event_name: 'purchase' is not one of ['page_view', 'user_engagement', 'scroll', 'click']"),
        (7, "type", "$.session_id: 'first' is not of type 'integer'"),
        (8, "type", "$.user_pseudo_id: None is not of type 'string'"),
        (9, "range", "$.engagement_time_msec: -1 is less than the minimum of 0"),
        (10, "enum", "$.device_category: 'phone' is not one of ['desktop', 'mobile', 'tablet', None]"),
        (11, "pattern", f"$.event_timestamp: {'2026-11-20 10:00:00Z'!r} does not match {pattern('ga4_events', 'event_timestamp')!r}"),
    ]
    assert rejects[0]["record"] == lines[2]  # the line as received
    assert rejects[3]["record"]["session_id"] == "first"  # the record as read


def ga4_hash(row: dict) -> str:
    """The documented GA4 row hash (sql/ddl/020_content.sql), written out here: sha256 over
    'ga4_events/v2' then per column '-;' (NULL) or '<byte length>:<text>;', event_at as epoch µs."""
    parts = ["ga4_events/v2"]
    for name in ("event_at", "event_name", "user_pseudo_id", "session_id", "content_id", "page_location",
                 "engagement_time_msec", "device_category", "country"):
        value = row[name]
        if isinstance(value, dt.datetime):
            value = (value - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)
        if value is None:
            parts.append("-;")
        else:
            text = str(value)
            parts.append(f"{len(text.encode())}:{text};")
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:32]


def pattern(entity: str, field: str) -> str:
    return load_schema(f"content/{entity}.json")["properties"][field]["pattern"]


def test_null_and_empty_string_stay_distinct(tmp_path):
    row = '2026-11-20T10:00:00Z,page_view,1.16,1795168800,7,{},,mobile,{}'
    staged, rejects, _ = stage(GA4_EVENTS, tmp_path, csv([GA4_HEADER, row.format("", '""'), row.format('""', "")]))
    assert not rejects
    assert [(r["page_location"], r["country"]) for r in staged] == [(None, ""), ("", None)]


def test_na_like_text_is_a_value_not_null(tmp_path):
    staged, rejects, _ = stage(GA4_EVENTS, tmp_path, csv([GA4_HEADER, "2026-11-20T10:00:00Z,page_view,NULL,1,7,N/A,,mobile,NA"]))
    assert not rejects
    assert (staged[0]["user_pseudo_id"], staged[0]["page_location"], staged[0]["country"]) == ("NULL", "N/A", "NA")


def test_gam_source_line_counts_quarantined_and_blank_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BLOCK_BYTES", 256)  # many small blocks
    good = "2026-11-20T{h:02d}:00:00Z,s,top,LI-1,CR-1,{c},100,{k},1.500000"
    lines = [GAM_HEADER]
    expected = {}
    for i in range(40):
        if i % 7 == 3:
            lines.append("broken,line")
        elif i % 11 == 5:
            lines.append(good.format(h=i % 24, c=i + 1, k=101))  # passes the contract (clicks > impressions is a check)
            expected[len(lines)] = i + 1
        elif i % 13 == 6:
            lines.append(good.format(h=i % 24, c=i + 1, k=1).replace(",100,", ",-100,"))
        else:
            lines.append(good.format(h=i % 24, c=i + 1, k=1))
            expected[len(lines)] = i + 1
    staged, rejects, _ = stage(GAM_DELIVERY, tmp_path, csv(lines))
    assert {r["source_line"]: r["content_id"] for r in staged} == expected
    assert {r["line"] for r in rejects} == set(range(2, len(lines) + 1)) - set(expected)
    assert {r["rule"] for r in rejects} == {"csv", "range"}  # was {'csv', 'schema'}
    assert staged[0]["revenue_usd"] == Decimal("1.500000")


def test_revenue_with_more_than_six_decimals_is_unrepresentable(tmp_path):
    staged, rejects, _ = stage(GAM_DELIVERY, tmp_path, csv([GAM_HEADER, "2026-11-20T01:00:00Z,s,top,LI-1,CR-1,3,10,1,0.1234567"]))
    assert not staged
    # a number the contract accepts but the column type cannot hold (was 'type', "is not a valid decimal128(18, 6)")
    assert [(r["rule"], r["reason"]) for r in rejects] == [
        ("unrepresentable", "$.revenue_usd: does not fit decimal128(18, 6) (precision or scale)")]


def test_cms_snapshot_key_must_be_unique_first_line_wins(tmp_path):
    header = "content_id,site,title,author,section,publish_timestamp"
    staged, rejects, _ = stage(CMS_ARTICLES, tmp_path, csv([
        header, "1,s,First,,news,2026-01-01T00:00:00Z", "2,s,Two,a,news,", "1,s,Again,,news,2026-01-01T00:00:00Z",
    ]))
    assert [(r["content_id"], r["title"]) for r in staged] == [(1, "First"), (2, "Two")]
    # the one duplicate wording (was "duplicate content_id = 1 (first at line 2)")
    assert [(r["line"], r["rule"], r["reason"], r["winner_line"]) for r in rejects] == [
        (4, "duplicate_key", "duplicate content_id = 1: line 2 wins (the first in the file)", 2)]


def test_missing_column_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"lacks required column\(s\) country"):
        stage(GA4_EVENTS, tmp_path, csv([GA4_HEADER.replace(",country", ""), "x,y"]))


def test_invalid_utf8_quarantines_its_record_only(tmp_path):
    good = "2026-11-20T10:00:00Z,page_view,1.16,1,7,,,mobile,US"
    bad = "2026-11-20T10:00:00Z,page_view,\xff\xfe,1,7,,,mobile,US"
    staged, rejects, _ = stage(GA4_EVENTS, tmp_path, csv([GA4_HEADER, good, bad, good]).encode("latin-1"))
    # quarantined per record now (was: the whole file failed with "cannot parse the CSV")
    assert len(staged) == 2
    at = len("2026-11-20T10:00:00Z,page_view,") + 1
    assert [(r["line"], r["rule"], r["reason"]) for r in rejects] == [
        (3, "encoding", f"not UTF-8: invalid start byte at byte {at} of the record")]


def test_unterminated_quote_is_quarantined_alone_and_the_lines_reconcile(tmp_path):
    good = "2026-11-20T10:00:00Z,page_view,1.16,1,7,,,mobile,US"
    lines = [GA4_HEADER, good, good.replace(",,,", ',"never closed,,'), good, good]
    staged, rejects, stats = stage(GA4_EVENTS, tmp_path, csv(lines))
    # the damaged record alone is quarantined and every line after it is read (was: it swallowed the rest)
    assert len(staged) == 3 and [(r["line"], r["rule"], r["lines"]) for r in rejects] == [(3, "csv", 1)]
    assert rejects[0]["record"] == lines[2]
    lines_landed = describe(str(next(tmp_path.glob("stage-*/ga4_events.csv"))), "csv")["lines"]
    assert lines_landed == 4 == stats.staged_lines + stats.quarantined_lines  # raw = staged + quarantined


def test_a_quoted_newline_is_one_record_and_reconciles(tmp_path):
    good = "2026-11-20T10:00:00Z,page_view,1.16,1,7,,,mobile,US"
    lines = [GA4_HEADER, good, good.replace(",,,", ',"https://x/a\nb",,'), good]
    staged, rejects, stats = stage(GA4_EVENTS, tmp_path, csv(lines))
    assert [r["page_location"] for r in staged] == [None, "https://x/a\nb", None] and not rejects
    # landing counts physical lines now (was records: 3); the staged record spans two of them
    lines_landed = describe(str(next(tmp_path.glob("stage-*/ga4_events.csv"))), "csv")["lines"]
    assert lines_landed == 4 == stats.staged_lines + stats.quarantined_lines
    assert stats.records == 3 == stats.staged + stats.quarantined


def test_every_bad_integer_is_found_among_many(tmp_path):
    """(Was csv_stage.cast_column; now the engine on an integer column of 320 rows.)"""
    texts = ["1", "x", None, "3", "4.5", "-2", '""', "7"] * 40
    row = "2026-11-20T10:00:00Z,page_view,1.16,1,7,,{},mobile,US"
    staged, rejects, _ = stage(GA4_EVENTS, tmp_path, csv([GA4_HEADER] + [row.format(t or "") for t in texts]))
    # engagement_time_msec: an integer >= 0 or null; quoted "" is an empty string, not null
    ok = [t is None or re.fullmatch(r"[0-9]+", t) is not None for t in texts]
    assert {r["line"] for r in rejects} == {i + 2 for i, good in enumerate(ok) if not good}
    assert [r["engagement_time_msec"] for r in staged] == [None if t is None else int(t) for t, good in zip(texts, ok) if good]


def test_contract_refuses_keywords_it_cannot_evaluate():
    with pytest.raises(ContractError, match="multipleOf"):
        compile_contract("t", {"type": "object", "properties": {"a": {"type": "integer", "multipleOf": 2}}})


def test_vectorised_contract_agrees_with_jsonschema(tmp_path):
    """Random rows from pools of good and bad values: quarantined exactly when jsonschema (or typing) says so."""
    pools = {
        "event_timestamp": ["2026-11-20T10:00:00Z", "2026-11-20T10:00:00.5+01:00", "2026-11-20 10:00:00Z", "x", ""],
        "event_name": ["page_view", "click", "Click", ""],
        "user_pseudo_id": ["1.2", '""', ""],
        "session_id": ["1", "0", "-3", "9", "1.5", ""],
        "content_id": ["4", "0", "x", ""],
        "page_location": ["https://a", '""', ""],
        "engagement_time_msec": ["0", "10", "-1", ""],
        "device_category": ["mobile", "desktop", "tv", ""],
        "country": ["US", "X" * 65, ""],
    }
    rng = random.Random(4)
    rows = [[pool[0] if rng.random() < 0.85 else rng.choice(pool) for pool in pools.values()] for _ in range(400)]
    _, rejects, _ = stage(GA4_EVENTS, tmp_path, csv([GA4_HEADER] + [",".join(r) for r in rows]))
    check = jsonschema.Draft202012Validator(load_schema("content/ga4_events.json"))

    def expected_bad(row) -> bool:
        record = {}
        for field, text in zip(pools, row):
            value = None if text == "" else ("" if text == '""' else text)
            if field in ("session_id", "content_id", "engagement_time_msec") and value is not None:
                if not re.fullmatch(r"-?[0-9]+", value):
                    return True  # does not type as an integer
                value = int(value)
            if field == "event_timestamp" and value is not None:
                try:  # (a zone-less instant is no longer bad in itself: the schema's pattern decides)
                    dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    return True
            record[field] = value
        return not check.is_valid(record)

    assert {r["line"] for r in rejects} == {i + 2 for i, row in enumerate(rows) if expected_bad(row)}
    assert 0 < len(rejects) < len(rows)


def test_every_content_column_has_a_contract():
    for entity in (GA4_EVENTS, GAM_DELIVERY, CMS_ARTICLES):
        rules = entity.contract().rules
        sourced = [c.source for c in entity.columns if c.source and c.source != LINE]  # row_hash is derived
        assert [r.path for r in rules] == [(s,) for s in sourced]
        assert {r.path[0] for r in rules if r.required} == set(sourced)
    assert GA4_HEADER.split(",") == [c.source for c in GA4_EVENTS.columns if c.source]
