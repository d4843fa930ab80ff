"""Samples are made safe to store and show whatever they contain."""
from __future__ import annotations

import decimal
import json

from workflows.quality.sanitize import ITEMS_LIMIT, TEXT_LIMIT, message, safe, text


def test_nul_surrogates_and_control_characters_become_visible_escapes():
    value = "a\x00b\ud800c\x01d\te\nf"
    out = text(value)
    assert out == "a\\u0000b\\ud800c\\u0001d\te\nf"
    out.encode("utf-8")  # no lone surrogate left: encodable, so storable as text / jsonb


def test_a_megabyte_string_is_cut_and_says_how_long_it_was():
    out = safe({"note": "x" * (1 << 20)})["note"]
    assert out == "x" * TEXT_LIMIT + f"… ({1 << 20} chars)"


def test_containers_are_capped_in_items_and_depth():
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    assert safe(deep) == {"a": {"b": {"c": {"d": "{'e': 1}"}}}}
    many = safe(list(range(100)))
    assert many[:ITEMS_LIMIT] == list(range(ITEMS_LIMIT)) and many[-1] == f"… {100 - ITEMS_LIMIT} more"
    keys = safe({f"k{i}": i for i in range(30)})
    assert len(keys) == ITEMS_LIMIT + 1 and keys["…"] == "10 more fields"


def test_values_json_cannot_hold_become_text():
    out = safe([float("nan"), float("inf"), decimal.Decimal("1.10"), 2**60, b"\xff\x00", {"\x00key": None}])
    assert out == ["nan", "inf", "1.10", str(2**60), "\\xff\\u0000", {"\\u0000key": None}]
    json.dumps(out, allow_nan=False)


def test_empty_messages_are_none_and_long_ones_cut():
    assert message("") is None and message(None) is None
    assert message("m" * 5000).startswith("m" * 2000) and message("m" * 5000).endswith("(5000 chars)")
