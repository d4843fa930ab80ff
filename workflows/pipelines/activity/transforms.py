"""Activity's own transforms, vectorised over Arrow arrays: keyed user pseudonyms, masked IPs, response
classes, UTC event dates.

Each maps a whole column; pseudonyms and masks are computed once per distinct value (users and
addresses repeat all day). A value a transform cannot read is returned as ``{row: reason}`` and
quarantined by the engine (rule ``format``).
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import logging

import pyarrow as pa
import pyarrow.compute as pc

from workflows.config import activity

log = logging.getLogger("luigi-interface")
DEMO_PSEUDONYM_KEY = "DEMO-ONLY-activity-pseudonym-key-set-ACTIVITY_PSEUDONYM_KEY"
RESPONSE_CLASSES = ("informational", "success", "redirect", "client_error", "server_error")
_V6_PREFIX_48 = ~((1 << 80) - 1) & ((1 << 128) - 1)
_warned: list[bool] = []


def pseudonym_key() -> bytes:
    """The configured HMAC key, or — for generated drops only — the demo key (logged once as a
    warning). Real drops (a ``landing`` is set) without a key are refused: a public key makes the
    pseudonyms reversible by enumerating ids."""
    cfg = activity()
    return _key(cfg.pseudonym_key, cfg.landing.strip())


def protect_ip():
    """What a quarantined record shows instead of an IP address: its masked prefix."""
    return mask_ip


@functools.lru_cache(maxsize=8)
def _key(configured: str, landing: str) -> bytes:
    if configured:
        return configured.encode()
    if landing:
        raise ValueError("[activity] pseudonym_key is empty while [activity] landing points at real drops: "
                         "set pseudonym_key = ${ACTIVITY_PSEUDONYM_KEY}")
    if not _warned:
        _warned.append(True)
        log.warning("[activity] pseudonym_key is empty: pseudonymising user ids with the public DEMO key; "
                    "set pseudonym_key = ${ACTIVITY_PSEUDONYM_KEY} for real data")
    return DEMO_PSEUDONYM_KEY.encode()


@functools.lru_cache(maxsize=1 << 12)  # small: _by_distinct already maps each batch once per value; RSS stays flat in the day
def pseudonym(user_id: str, key: bytes) -> str:
    """HMAC-SHA256(key, canonical user id) as hex: stable across sources and runs, irreversible without key."""
    return hmac.digest(key, str(user_id).encode(), "sha256").hex()


@functools.lru_cache(maxsize=1 << 12)  # small: _by_distinct already maps each batch once per value; RSS stays flat in the day
def mask_ip(value: str) -> str:
    """IPv4 -> its /24 (last octet zeroed); IPv6 -> its /48 prefix. ValueError if not an address."""
    addr = ipaddress.ip_address(value)
    if addr.version == 4:
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(addr) & _V6_PREFIX_48))


def _by_distinct(column: pa.Array, fn, what: str) -> tuple[pa.Array, dict[int, str]]:
    """``fn`` applied once per distinct non-null value; rows whose value it refuses, with a reason."""
    distinct = pc.unique(column)
    mapped, refused = [], set()
    for value in distinct.to_pylist():
        if value is None:
            mapped.append(None)
            continue
        try:
            mapped.append(fn(value))
        except ValueError:
            mapped.append(None)
            refused.add(value)
    out = pc.take(pa.array(mapped, pa.string()), pc.index_in(column, value_set=distinct))
    problems = {}
    if refused:
        bad = pc.fill_null(pc.is_in(column, value_set=pa.array(sorted(refused), pa.string())), False)
        for row in pc.indices_nonzero(bad).to_pylist():
            problems[row] = f"{column[row].as_py()!r} is not {what}"
    return out, problems


def _canonical_id(value: str) -> str:
    if value != value.strip():  # Python's `$` lets "123\n" through the schema pattern
        raise ValueError(value)
    return value


def pseudonymise(user_ids: pa.Array) -> tuple[pa.Array, dict[int, str]]:
    """user_id (as canonical text: 123, 123.0 and "123" are one user) -> its keyed pseudonym."""
    key = pseudonym_key()
    return _by_distinct(user_ids, lambda v: pseudonym(_canonical_id(v), key), "a user id without surrounding space")


def mask_ips(addresses: pa.Array) -> tuple[pa.Array, dict[int, str]]:
    return _by_distinct(addresses, mask_ip, "an IPv4 or IPv6 address")


def response_class(cols: dict[str, pa.Array]) -> pa.Array:
    """1xx informational … 5xx server_error (the contract keeps status codes in 100-599)."""
    index = pc.subtract(pc.divide(cols["status_code"], 100), 1)
    return pc.take(pa.array(RESPONSE_CLASSES), index)


def protect_user_id():
    """What a quarantined record shows instead of a user id: its pseudonym (the key read once)."""
    key = pseudonym_key()

    def protect(value) -> str:
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        return pseudonym(text, key)

    return protect


def utc_date(column: str):
    """A ``derive`` for the UTC date of the timestamp ``column`` (staged as UTC): the event date
    whose mart rows the row lands in (docs/late-events.md)."""

    def derive(cols: dict[str, pa.Array]) -> pa.Array:
        return pc.cast(cols[column], pa.date32())

    return derive
