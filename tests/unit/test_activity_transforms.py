"""Activity row transforms on tiny inline values: UTC timestamps, keyed pseudonyms, IP masks, response classes."""
import datetime as dt
import hashlib
import hmac

import pytest

from workflows.pipelines.activity.transforms import (RowError, canonical_user_id, mask_ip, pseudonym, response_class,
                                                     utc_micros)

UTC = dt.timezone.utc


def micros(*args) -> int:
    return int(dt.datetime(*args, tzinfo=UTC).timestamp() * 1_000_000)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-20T10:15:30Z", micros(2026, 11, 20, 10, 15, 30)),
    ("2026-11-20T12:15:30+02:00", micros(2026, 11, 20, 10, 15, 30)),
    ("2026-11-20 05:15:30.250-05:00", micros(2026, 11, 20, 10, 15, 30) + 250_000),
    ("2026-11-20T15:45:30+0530", micros(2026, 11, 20, 10, 15, 30)),
    ("2026-11-19T23:30:00-0800", micros(2026, 11, 20, 7, 30, 0)),
    ("2026-11-20T10:15:30.123456789Z", micros(2026, 11, 20, 10, 15, 30) + 123_456),  # ns truncated to µs
])
def test_timestamps_in_any_zone_become_utc_micros(text, expected):
    assert utc_micros(text) == expected


@pytest.mark.parametrize("text, words", [
    ("2026-11-20T10:15:30", "has no time zone"),
    ("2026-02-30T10:00:00Z", "day is out of range"),
    ("yesterday", "not a valid ISO 8601 instant"),
])
def test_bad_timestamps_raise_a_parse_error(text, words):
    with pytest.raises(RowError) as err:
        utc_micros(text)
    assert err.value.rule == "parse" and words in err.value.reason and repr(text) in err.value.reason


def test_pseudonym_is_hmac_sha256_of_the_canonical_id_and_joins_int_and_text():
    key = b"k1"
    expected = hmac.new(key, b"123", hashlib.sha256).hexdigest()
    assert pseudonym(123, key) == pseudonym("123", key) == pseudonym(123.0, key) == expected
    assert pseudonym(123, b"k2") != expected  # keyed: another key, another pseudonym
    assert pseudonym("0123", key) != expected  # ids are text: no numeric coercion of strings
    assert len(expected) == 64 and "123" not in canonical_user_id("u-9")


def test_user_id_with_surrounding_whitespace_is_rejected():
    with pytest.raises(RowError):
        canonical_user_id("123\n")


@pytest.mark.parametrize("ip, masked", [
    ("83.138.43.19", "83.138.43.0"),
    ("10.0.0.255", "10.0.0.0"),
    ("2001:db8:cbc1:e379::857b", "2001:db8:cbc1::"),
    ("2001:0db8:0001:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::"),
])
def test_ip_masking(ip, masked):
    assert mask_ip(ip) == masked


@pytest.mark.parametrize("ip", ["999.1.1.1", "1.2.3", "not-an-ip", "1.2.3.04"])
def test_invalid_ip_is_a_parse_error(ip):
    with pytest.raises(RowError) as err:
        mask_ip(ip)
    assert err.value.rule == "parse"


def test_response_classes():
    assert [response_class(c) for c in (100, 101, 200, 204, 301, 304, 400, 404, 429, 500, 503, 599)] == [
        "informational", "informational", "success", "success", "redirect", "redirect",
        "client_error", "client_error", "client_error", "server_error", "server_error", "server_error"]
    with pytest.raises(RowError):
        response_class(600)


def test_real_drops_without_a_pseudonym_key_are_refused():
    from tests.conftest import luigi_settings
    from workflows.pipelines.activity.settings import pseudonym_key

    with luigi_settings({"activity": {"landing": "/srv/drops", "pseudonym_key": ""}}):
        with pytest.raises(ValueError, match=r"pseudonym_key is empty while \[activity\] landing"):
            pseudonym_key()
    with luigi_settings({"activity": {"landing": "", "pseudonym_key": ""}}):
        assert pseudonym_key()  # generated drops: the demo key, with a warning
