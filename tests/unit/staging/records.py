"""Random JSON records for a JSON Schema — valid ones and mutated ones — for the property tests.

Deterministic per seed; strings for a ``pattern`` are generated from the regex itself
(``sre_parse``), so any pattern the schemas use gets matching and near-miss values.
"""
from __future__ import annotations

import datetime as dt
import functools
import random
import re
import string
from typing import Any

try:  # Python 3.11+
    import re._parser as sre_parse
    import re._constants as sre_constants
except ImportError:  # pragma: no cover
    import sre_constants
    import sre_parse

ABSENT = object()
ODD_STRINGS = ["", " ", "x", "abc\n", " 12", "12 ", "١٢٣", "𝟙𝟚𝟛", "é", "ß" * 3, "\t", "null", "true", "0", "-1",
               "1.5", "1e3", "NaN", "2026-11-20", "2026-11-20T10:00:00Z", "日本語", "a" * 70]
ODD_VALUES = [None, True, False, 0, -1, 1, 1.0, 1.5, -0.0, 2**53 + 1, 2**63, -(2**63) - 1, 2**70, 1e300, -1e-300,
              [], [1], {}, {"a": 1}] + ODD_STRINGS
BAD_DATETIMES = ["2026-02-30T10:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T23:59:60Z", "0000-01-01T00:00:00Z",
                 "2026-11-20T10:00:00+24:00", "2026-11-20T10:00:00+02:60", "2026-11-20T10:00:00.1234567890Z",
                 "2026-11-20T10:00:00 Z", "2026-11-20", "20261120T100000Z", "2026-11-20T10", "2026-13-01T00:00:00",
                 "2026-11-20T10:00:00Z\n", "２０２６-11-20T10:00:00Z"]
CATEGORY = {
    sre_constants.CATEGORY_DIGIT: string.digits + "٣७",
    sre_constants.CATEGORY_NOT_DIGIT: "aZ_ -é",
    sre_constants.CATEGORY_WORD: string.ascii_letters + string.digits + "_éß",
    sre_constants.CATEGORY_NOT_WORD: " -./",
    sre_constants.CATEGORY_SPACE: " \t\n\x0b\u00a0",
    sre_constants.CATEGORY_NOT_SPACE: "ax9",
}


def _from_regex(rng: random.Random, parsed, out: list[str]) -> None:
    for op, av in parsed:
        if op == sre_constants.LITERAL:
            out.append(chr(av))
        elif op == sre_constants.NOT_LITERAL:
            out.append(rng.choice([c for c in "ax9-" if ord(c) != av]))
        elif op == sre_constants.ANY:
            out.append(rng.choice("ax9 -é"))
        elif op == sre_constants.IN:
            chars: list[str] = []
            negate = False
            for kind, value in av:
                if kind == sre_constants.NEGATE:
                    negate = True
                elif kind == sre_constants.LITERAL:
                    chars.append(chr(value))
                elif kind == sre_constants.RANGE:
                    lo, hi = value
                    chars.extend(chr(c) for c in rng.sample(range(lo, hi + 1), min(6, hi - lo + 1)))
                elif kind == sre_constants.CATEGORY:
                    chars.extend(CATEGORY.get(value, "a"))
            if negate:
                pool = [c for c in "ax9-_ é!" if c not in chars] or ["~"]
                out.append(rng.choice(pool))
            else:
                out.append(rng.choice(chars))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            lo, hi, sub = av
            hi = min(hi, lo + 4) if hi != sre_constants.MAXREPEAT else lo + 4
            for _ in range(rng.randint(lo, hi)):
                _from_regex(rng, sub, out)
        elif op == sre_constants.SUBPATTERN:
            _from_regex(rng, av[-1], out)
        elif op == sre_constants.BRANCH:
            _from_regex(rng, rng.choice(av[1]), out)
        elif op == sre_constants.AT:
            pass
        elif op == sre_constants.CATEGORY:
            out.append(rng.choice(CATEGORY.get(av, "a")))
        else:  # groups refs and lookarounds do not occur in the schemas
            raise NotImplementedError(op)


@functools.lru_cache(maxsize=None)
def _parsed(pattern: str):
    return sre_parse.parse(pattern)


def from_regex(rng: random.Random, pattern: str) -> str:
    out: list[str] = []
    _from_regex(rng, _parsed(pattern), out)
    text = "".join(out)
    if rng.random() < 0.1:  # near misses: a character more, the Python-`$` trailing newline, a prefix
        text = rng.choice([text + "\n", text + "x", "x" + text, text[:-1], text.upper()])
    return text


def datetime_text(rng: random.Random, zone: bool = True) -> str:
    moment = dt.datetime(rng.choice([1, 999, 1970, 2026, 9999]) if rng.random() < 0.05 else rng.randint(1990, 2030),
                         rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
                         rng.randint(0, 59), rng.choice([0, 0, 123000, 999999]))
    sep = rng.choice("TT ")
    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M") + ("" if rng.random() < 0.05 else moment.strftime(":%S"))
    if ":" in text[-3:] and len(text) > 16 and rng.random() < 0.4:
        text += "." + "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 9)))
    if zone and rng.random() < 0.8:
        text += rng.choice(["Z", "+02:00", "-05:30", "+0100", "-03", "+14:00"])
    return text


def _number(rng: random.Random, spec: dict, integer: bool) -> int | float:
    lo = spec.get("minimum", spec.get("exclusiveMinimum", -10**6))
    hi = spec.get("maximum", spec.get("exclusiveMaximum", 10**6))
    lo, hi = max(lo, -10**12), min(hi, 10**12)
    pick = rng.random()
    if pick < 0.15:
        value = rng.choice([lo, hi])
    elif pick < 0.25:
        value = rng.choice([lo - 1, hi + 1, lo - 0.001, hi + 0.001])
    else:
        value = rng.uniform(lo, hi)
    if integer:
        value = int(value) if rng.random() < 0.9 else float(int(value))
    return value


def value(rng: random.Random, spec: dict, valid: bool = True) -> Any:
    """A value for one property schema: valid per spec (mostly), or an odd one when ``valid`` is False."""
    if not valid:
        return rng.choice(ODD_VALUES + BAD_DATETIMES)
    if "const" in spec:
        return spec["const"]
    if "enum" in spec:
        return rng.choice(spec["enum"]) if rng.random() < 0.95 else rng.choice(ODD_STRINGS)
    types = spec.get("type", ["string", "integer", "null"])
    types = [types] if isinstance(types, str) else list(types)
    kind = rng.choice(types)
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "number"):
        return _number(rng, spec, kind == "integer")
    if kind == "object":
        return record(rng, spec)
    if kind == "array":
        items = spec.get("items", {})
        return [value(rng, items) for _ in range(rng.randint(0, 3))]
    # strings
    fmt = spec.get("format")
    if "pattern" in spec and fmt in ("date-time", "local-date-time") and rng.random() < 0.9:
        for _ in range(20):  # a real timestamp in the pattern's style
            text = datetime_text(rng, zone=fmt == "date-time")
            if re.search(spec["pattern"], text):
                return text
    if "pattern" in spec:
        return from_regex(rng, spec["pattern"])
    if fmt in ("date-time", "local-date-time"):
        return datetime_text(rng, zone=fmt == "date-time") if rng.random() < 0.9 else rng.choice(BAD_DATETIMES)
    if fmt == "date":
        return f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 31):02d}"
    lo, hi = spec.get("minLength", 0), spec.get("maxLength", 20)
    hi = min(hi, lo + 30)
    n = rng.choice([lo, hi, hi + 1, max(lo - 1, 0)]) if rng.random() < 0.2 else rng.randint(lo, hi)
    return "".join(rng.choice(string.ascii_letters + "é日 -") for _ in range(n))


def record(rng: random.Random, schema: dict) -> dict:
    """A record following ``schema`` (properties present if required, else 80% of the time)."""
    required = set(schema.get("required", ()))
    out = {}
    for name, spec in schema.get("properties", {}).items():
        if name in required or rng.random() < 0.8:
            out[name] = value(rng, spec)
    return out


def mutate(rng: random.Random, rec: dict, schema: dict) -> dict:
    """One to three random defects: a field removed, replaced by an odd value, or added."""
    rec = dict(rec)
    names = list(schema.get("properties", {}))
    for _ in range(rng.randint(1, 3)):
        what = rng.random()
        name = rng.choice(names) if names else "x"
        if what < 0.3 and rec:
            rec.pop(rng.choice(list(rec)), None)
        elif what < 0.9:
            spec = schema["properties"].get(name, {})
            inner = rec.get(name)
            if isinstance(inner, dict) and "properties" in spec and rng.random() < 0.6:
                rec[name] = mutate(rng, inner, spec)  # a defect inside a nested object
            elif isinstance(inner, list) and inner and isinstance(spec.get("items"), dict) and rng.random() < 0.6:
                k = rng.randrange(len(inner))  # a defect in one item of an array
                rec[name] = inner[:k] + [mutate(rng, inner[k], spec["items"]) if isinstance(inner[k], dict)
                                         else rng.choice(ODD_VALUES)] + inner[k + 1:]
            else:
                rec[name] = value(rng, spec, valid=False)
        else:
            rec[f"extra_{rng.randint(0, 9)}"] = rng.choice(ODD_VALUES)
    return rec


def records(schema: dict, n: int, seed: int) -> list[dict]:
    """n records, about half of them mutated."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        rec = record(rng, schema)
        out.append(mutate(rng, rec, schema) if rng.random() < 0.5 else rec)
    return out
