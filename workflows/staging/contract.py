"""An entity's JSON Schema compiled once into vectorised checks whose verdict equals jsonschema's.

``compile_contract(schema, explode)`` walks the schema's properties (nested objects too, and the
items of the one array the entity explodes) into ``FieldRule``s; ``Contract.evaluate`` checks a
batch's ``Values`` with Arrow/numpy and returns, per record, 0 (valid) or the code of a failing
rule. Only rejected records are then handed to jsonschema (``Contract.explain``), which words the
reason; the rule name comes from jsonschema's best-matching error. Keywords the compiler cannot
evaluate exactly are refused when the contract is built, so the two never disagree silently.

Supported: ``type`` (all seven JSON types; 1.0 is an integer, true is not), ``required``,
``properties`` (nested), ``enum`` / ``const`` (scalars), ``minimum`` / ``maximum`` /
``exclusiveMinimum`` / ``exclusiveMaximum``, ``minLength`` / ``maxLength`` (code points),
``pattern`` (Python ``re`` semantics, as jsonschema applies it, run on RE2), ``format`` (the formats
of ``formats.py``; others are annotations), ``items`` of the exploded array, and annotations.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field as dataclass_field
from typing import Any

import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workflows.staging import formats
from workflows.staging.rejects import KEYWORD_RULES
from workflows.staging.values import ABSENT, ARRAY, BOOL, FLOAT, INT, NULL, OBJECT, STRING, Values

OK, REQUIRED, TYPE, ENUM, RANGE, LENGTH, PATTERN, FORMAT = range(8)
CODE_RULES = {REQUIRED: "required", TYPE: "type", ENUM: "enum", RANGE: "range", LENGTH: "length",
              PATTERN: "pattern", FORMAT: "format"}
ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated",
               "readOnly", "writeOnly"}
PROPERTY_KEYWORDS = {"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                     "minLength", "maxLength", "pattern", "format", "properties", "required", "items"} | ANNOTATIONS
KINDS = {"null": (NULL,), "boolean": (BOOL,), "integer": (INT,), "number": (INT, FLOAT), "string": (STRING,),
         "array": (ARRAY,), "object": (OBJECT,)}


class ContractError(ValueError):
    """The schema uses something the vectorised contract cannot evaluate exactly."""


# ── Python ``re`` patterns on RE2 ──────────────────────────────────────────────

_WS = r"\t\n\x0b\f\r\x1c-\x1f\x85\p{Z}"
_CLASS = {"d": r"\p{Nd}", "w": r"\p{L}\p{N}_", "s": _WS}
_NEGATED = {"D": r"[^\p{Nd}]", "W": r"[^\p{L}\p{N}_]", "S": f"[^{_WS}]"}


def re2_pattern(pattern: str) -> str:
    """``pattern`` rewritten so RE2 matches what Python's ``re.search`` matches: ``$`` also before a
    final newline, ``\\d \\w \\s`` (and negations) Unicode-aware, ``\\Z`` as ``\\z``. Lookarounds and
    backreferences are refused (RE2 has neither)."""
    if re.search(r"\(\?(?:=|!|<=|<!|P=)|\\[1-9]|\\[bB]", pattern):
        raise ContractError(f"pattern {pattern!r}: lookarounds, backreferences and \\b cannot be evaluated on RE2")
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _CLASS:
                out.append(_CLASS[nxt] if in_class else f"[{_CLASS[nxt]}]")
            elif nxt in _NEGATED:
                if in_class:
                    raise ContractError(f"pattern {pattern!r}: \\{nxt} inside a character class is not supported")
                out.append(_NEGATED[nxt])
            elif nxt == "Z":
                out.append(r"\z")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                out.append("[^")
                i += 2
                continue
            out.append("[")
        elif ch == "$":
            out.append(r"(?:\n?\z)")
        else:
            out.append(ch)
        i += 1
    translated = "".join(out)
    try:
        pc.match_substring_regex(pa.array(["x"]), translated)
    except pa.ArrowInvalid as exc:
        raise ContractError(f"pattern {pattern!r} cannot be compiled on RE2: {exc}") from None
    return translated


# ── the compiled contract ──────────────────────────────────────────────────────

@dataclass(frozen=True)
class FieldRule:
    """The checks of one property. ``path`` is from the record root (or from the exploded item)."""

    path: tuple[str, ...]
    element: bool
    required: bool
    kinds: tuple[int, ...] | None
    integer: bool
    enum: tuple | None
    bounds: tuple[tuple[str, Any], ...]
    min_length: int | None
    max_length: int | None
    pattern: str | None
    format: str | None
    json_types: frozenset[str]

    @property
    def parent(self) -> tuple[str, ...]:
        return self.path[:-1]


def _check_number(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ContractError(f"{where}: expected a number, got {value!r}")


def _rule(path: tuple[str, ...], element: bool, required: bool, spec: dict, where: str) -> FieldRule:
    unknown = set(spec) - PROPERTY_KEYWORDS
    if unknown:
        raise ContractError(f"{where}: keywords {sorted(unknown)} cannot be evaluated by the staging contract")
    types = spec.get("type")
    types = [types] if isinstance(types, str) else types
    if types is not None and (not types or any(t not in KINDS for t in types)):
        raise ContractError(f"{where}: unknown type {spec['type']!r}")
    kinds = tuple(sorted({k for t in types for k in KINDS[t]})) if types is not None else None
    enum = None
    if "enum" in spec or "const" in spec:
        enum = tuple(spec["enum"]) if "enum" in spec else (spec["const"],)
        if any(isinstance(v, (dict, list)) for v in enum):
            raise ContractError(f"{where}: enum / const of objects or arrays is not supported")
    bounds = []
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in spec:
            _check_number(spec[key], f"{where}.{key}")
            bounds.append((key, spec[key]))
    fmt = spec.get("format") if spec.get("format") in formats.FORMATS else None
    return FieldRule(
        path=path, element=element, required=required, kinds=kinds,
        integer=types is not None and "integer" in types and "number" not in types,
        enum=enum, bounds=tuple(bounds), min_length=spec.get("minLength"), max_length=spec.get("maxLength"),
        pattern=re2_pattern(spec["pattern"]) if "pattern" in spec else None, format=fmt,
        json_types=frozenset(types or KINDS),
    )


@dataclass(frozen=True)
class Contract:
    """The compiled contract of one entity's raw records."""

    name: str
    rules: tuple[FieldRule, ...]
    explode: str | None
    validator: Any
    _field_validators: dict = dataclass_field(default_factory=dict, compare=False, repr=False)

    @property
    def record_paths(self) -> tuple[tuple[str, ...], ...]:
        return tuple(r.path for r in self.rules if not r.element)

    @property
    def element_paths(self) -> tuple[tuple[str, ...], ...]:
        return tuple(r.path for r in self.rules if r.element)

    def rule_for(self, path: tuple[str, ...], element: bool = False) -> FieldRule | None:
        return next((r for r in self.rules if r.path == path and r.element == element), None)

    # ── vectorised verdict ──
    def _evaluate(self, values: dict[tuple[str, ...], Values], root_object: np.ndarray, element: bool,
                  blame: np.ndarray | None = None) -> np.ndarray:
        """Per row: 0 or the first failing rule code. ``blame`` (record level) receives per row the
        index in ``rules`` of the one top-level field that fails, -1 when several or a nested one do."""
        n = len(root_object)
        code = np.zeros(n, dtype=np.int8)
        object_at: dict[tuple[str, ...], np.ndarray] = {(): root_object}
        for rule in self.rules:
            if rule.element != element:
                continue
            v = values[rule.path]
            active = object_at.get(rule.parent)
            if active is None:  # the parent is not an object property of the schema (cannot happen)
                active = np.zeros(n, dtype=bool)
            fails = _fails(rule, v, active)
            if rule.kinds is None or OBJECT in rule.kinds:
                object_at[rule.path] = active & (v.kind == OBJECT)
            for rule_code, mask in fails:
                first = mask & (code == OK)
                code[first] = rule_code
            if blame is not None and fails:
                failed = np.logical_or.reduce([mask for _, mask in fails])
                index = self.rules.index(rule) if len(rule.path) == 1 else -1
                blame[failed & (blame == -2)] = index
                blame[failed & (blame != index)] = -1
        return code

    def evaluate(self, values: dict[tuple[str, ...], Values], root_object: np.ndarray,
                 elements: dict[tuple[str, ...], Values] | None = None, element_object: np.ndarray | None = None,
                 parents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Per record: 0 or a failing rule code (a record fails if any of its exploded items fails),
        and per exploded item its own code. Records that are not objects fail ``type``."""
        code, item_code, _ = self.evaluate_blamed(values, root_object, elements, element_object, parents)
        return code, item_code

    def evaluate_blamed(self, values: dict[tuple[str, ...], Values], root_object: np.ndarray,
                        elements: dict[tuple[str, ...], Values] | None = None,
                        element_object: np.ndarray | None = None,
                        parents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """``evaluate``, and per record the index of the one top-level field rule that fails it
        (else -1): jsonschema then words that record from that field's schema alone (``explain``)."""
        blame = np.full(len(root_object), -2, dtype=np.int64)
        code = self._evaluate(values, root_object, element=False, blame=blame)
        blame[(code == OK) | ~root_object | (blame < 0)] = -1
        if self.explode is not None:
            blame[:] = -1
        code[~root_object & (code == OK)] = TYPE
        item_code = None
        if self.explode is not None and elements is not None:
            item_code = self._evaluate(elements, element_object, element=True)
            item_code[~element_object & (item_code == OK)] = TYPE
            bad = item_code != OK
            if bad.any():
                worst = np.zeros(len(code), dtype=np.int8)
                rows = parents[bad]
                codes = item_code[bad]
                order = np.argsort(rows, kind="stable")
                rows, codes = rows[order], codes[order]
                first = np.unique(rows, return_index=True)
                worst[first[0]] = codes[first[1]]
                code = np.where(code == OK, worst, code)
        return code, item_code, blame

    # ── wording, by jsonschema ──
    def explain(self, record: Any, blame: int = -1) -> tuple[str, str] | None:
        """(rule, reason) from jsonschema's best-matching error, or None when it finds the record valid.

        With ``blame`` (the index of the only failing top-level field rule, ``evaluate_blamed``)
        jsonschema reads that field's schema alone: every error of the record comes from it, so the
        best match is the same, for a fraction of the work."""
        validator = self.validator if blame < 0 else self._field_validator(self.rules[blame].path[0])
        error = jsonschema.exceptions.best_match(validator.iter_errors(record))
        if error is None and blame >= 0:
            return self.explain(record)
        if error is None:
            return None
        rule = KEYWORD_RULES.get(str(error.validator), "type")
        return rule, f"{error.json_path}: {error.message}"

    def _field_validator(self, name: str):
        if name not in self._field_validators:
            schema = self.validator.schema
            part = {key: schema[key] for key in ("$schema",) if key in schema}
            part["type"] = "object"
            if name in schema.get("properties", {}):
                part["properties"] = {name: schema["properties"][name]}
            if name in schema.get("required", ()):
                part["required"] = [name]
            self._field_validators[name] = type(self.validator)(part, format_checker=self.validator.format_checker)
        return self._field_validators[name]


def _integral(floats: pa.Array) -> np.ndarray:
    finite = pc.fill_null(pc.is_finite(floats), False)
    same = pc.fill_null(pc.equal(pc.floor(floats), floats), False)
    return np.asarray(pc.and_(finite, same))


def _fails(rule: FieldRule, v: Values, active: np.ndarray) -> list[tuple[int, np.ndarray]]:
    out: list[tuple[int, np.ndarray]] = []
    kind = v.kind
    missing = kind == 0
    if rule.required:
        out.append((REQUIRED, active & missing))
    present = active & ~missing
    is_int = kind == INT
    is_float = kind == FLOAT
    if rule.kinds is not None:
        ok = np.isin(kind, rule.kinds)
        if INT in rule.kinds and FLOAT not in rule.kinds:  # "integer": 1.0 counts, 1.5 does not
            ok |= is_float & _integral(v.floats)
        out.append((TYPE, present & ~ok))
    if rule.enum is not None:
        out.append((ENUM, present & ~_in_enum(rule.enum, v)))
    numeric = present & (is_int | is_float)
    if rule.bounds and numeric.any():
        bad = np.zeros(len(kind), dtype=bool)
        for key, bound in rule.bounds:
            bad |= _out_of_bound(v, key, bound)
        out.append((RANGE, numeric & bad))
    strings = present & (kind == STRING)
    if strings.any() and (rule.min_length is not None or rule.max_length is not None):
        length = pc.utf8_length(v.strings)
        bad = np.zeros(len(kind), dtype=bool)
        if rule.min_length is not None:
            bad |= np.asarray(pc.fill_null(pc.less(length, rule.min_length), False))
        if rule.max_length is not None:
            bad |= np.asarray(pc.fill_null(pc.greater(length, rule.max_length), False))
        out.append((LENGTH, strings & bad))
    if strings.any() and rule.pattern is not None:
        matched = np.asarray(pc.fill_null(pc.match_substring_regex(v.strings, rule.pattern), True))
        out.append((PATTERN, strings & ~matched))
    if strings.any() and rule.format is not None:
        parsed = v.timestamps(rule.format) if rule.format != "date" else None
        out.append((FORMAT, strings & ~formats.valid(v.strings, rule.format, parsed)))
    return out


def _in_enum(enum: tuple, v: Values) -> np.ndarray:
    kind = v.kind
    ok = np.zeros(len(kind), dtype=bool)
    strs = [e for e in enum if isinstance(e, str)]
    nums = [e for e in enum if isinstance(e, (int, float)) and not isinstance(e, bool)]
    bools = [e for e in enum if isinstance(e, bool)]
    if None in enum:
        ok |= kind == NULL
    if strs:
        ok |= (kind == STRING) & np.asarray(pc.fill_null(pc.is_in(v.strings, pa.array(strs, pa.string())), False))
    if nums:
        ints = [int(e) for e in nums if float(e).is_integer() and abs(e) < 2**63]
        if ints:
            ok |= (kind == INT) & np.asarray(pc.fill_null(pc.is_in(v.ints, pa.array(ints, pa.int64())), False))
        ok |= (kind == FLOAT) & np.asarray(pc.fill_null(
            pc.is_in(v.floats, pa.array([float(e) for e in nums], pa.float64())), False))
        for row, value in v.exact.items():
            if kind[row] == INT:
                ok[row] = value in nums
    if bools:
        ok |= (kind == BOOL) & np.asarray(pc.fill_null(pc.is_in(v.bools, pa.array(bools, pa.bool_())), False))
    return ok


_OPS = {"minimum": (pc.less, lambda a, b: a < b), "maximum": (pc.greater, lambda a, b: a > b),
        "exclusiveMinimum": (pc.less_equal, lambda a, b: a <= b),
        "exclusiveMaximum": (pc.greater_equal, lambda a, b: a >= b)}


def _int_bound(key: str, bound: float | int) -> int | None:
    """The integer bound equivalent to ``bound`` for integer values: v < b ⟺ v < ceil(b),
    v > b ⟺ v > floor(b), v <= b ⟺ v <= floor(b), v >= b ⟺ v >= ceil(b)."""
    if isinstance(bound, int):
        return bound
    if not math.isfinite(bound):
        return None
    return math.ceil(bound) if key in ("minimum", "exclusiveMaximum") else math.floor(bound)


def _out_of_bound(v: Values, key: str, bound: float | int) -> np.ndarray:
    """Rows whose number violates ``key: bound``, compared exactly as Python compares int and float."""
    arrow_op, py_op = _OPS[key]
    n = len(v.kind)
    bad = np.zeros(n, dtype=bool)
    is_int = v.kind == INT
    if is_int.any():
        ib = _int_bound(key, bound)
        if ib is not None and -(2**63) <= ib < 2**63:
            bad |= is_int & np.asarray(pc.fill_null(arrow_op(v.ints, pa.scalar(ib, pa.int64())), False))
        elif ib is not None:  # a bound beyond int64: every int64 is on one side of it
            bad |= is_int & bool(py_op(0, ib)) & v.ints.is_valid().to_numpy(zero_copy_only=False)
        else:
            bad |= is_int & bool(py_op(0, bound))
        for row, value in v.exact.items():
            if is_int[row]:
                bad[row] = py_op(value, bound)
    is_float = v.kind == FLOAT
    if is_float.any():
        fb = float(bound)
        bad |= is_float & np.asarray(pc.fill_null(arrow_op(v.floats, pa.scalar(fb, pa.float64())), False))
        if isinstance(bound, int) and float(bound) != bound:  # exact Python comparison where they tie
            ties = np.flatnonzero(is_float & np.asarray(pc.fill_null(pc.equal(v.floats, fb), False)))
            for row in ties:
                bad[row] = py_op(v.floats[int(row)].as_py(), bound)
    return bad


def compile_contract(name: str, schema: dict, explode: str | None = None) -> Contract:
    """Compile ``schema`` (an object schema); ``explode`` names the array property whose items
    become the staged rows. Raises ContractError naming what cannot be evaluated."""
    if schema.get("type") != "object":
        raise ContractError(f"{name}: the root of an entity schema must be \"type\": \"object\"")
    unknown = set(schema) - {"type", "properties", "required"} - ANNOTATIONS
    if unknown:
        raise ContractError(f"{name}: root keywords {sorted(unknown)} cannot be evaluated by the staging contract")
    rules: list[FieldRule] = []

    def walk(node: dict, prefix: tuple[str, ...], element: bool, where: str) -> None:
        required = set(node.get("required", ()))
        for field, spec in node.get("properties", {}).items():
            path = prefix + (field,)
            at = f"{where}.{field}"
            if not isinstance(spec, dict):
                raise ContractError(f"{at}: a property schema must be an object")
            rule = _rule(path, element, field in required, spec, at)
            rules.append(rule)
            if "properties" in spec or "required" in spec:
                walk(spec, path, element, at)
            if "items" in spec:
                if element or path != (explode,):
                    raise ContractError(f"{at}: items are only supported on the exploded array ({explode!r})")
                items = spec["items"]
                if items.get("type") != "object" or set(items) - {"type", "properties", "required"} - ANNOTATIONS:
                    raise ContractError(f"{at}.items: must be an object schema with properties/required")
                walk(items, (), True, f"{at}.items")
        missing = required - set(node.get("properties", {}))
        for field in sorted(missing):  # required but undeclared: presence only
            rules.append(FieldRule(prefix + (field,), element, True, None, False, None, (), None, None, None, None,
                                   frozenset(KINDS)))

    walk(schema, (), False, name)
    if explode is not None and not any(r.path == (explode,) and not r.element for r in rules):
        raise ContractError(f"{name}: the exploded field {explode!r} is not a property of the schema")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return Contract(name, tuple(rules), explode, cls(schema, format_checker=formats.python_checker()))


def record_of(values: dict[tuple[str, ...], Values], row: int) -> dict:
    """The record jsonschema sees for one row of a CSV batch (nested paths rebuilt)."""
    out: dict = {}
    for path, v in values.items():
        value = v.value(row)
        if value is ABSENT:
            continue
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out
