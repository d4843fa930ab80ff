"""Row transforms: UTC timestamps, keyed user pseudonyms, masked IPs, HTTP response classes."""
from __future__ import annotations

import datetime as dt
import functools
import hmac
import ipaddress

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = dt.timedelta(microseconds=1)
RESPONSE_CLASSES = {1: "informational", 2: "success", 3: "redirect", 4: "client_error", 5: "server_error"}
_V6_PREFIX_48 = ~((1 << 80) - 1) & ((1 << 128) - 1)


class RowError(ValueError):
    """A value the schema lets through but the transform cannot use; quarantined with ``rule``."""

    def __init__(self, rule: str, reason: str):
        super().__init__(reason)
        self.rule, self.reason = rule, reason


def utc_micros(value: str, field: str = "timestamp") -> int:
    """ISO 8601 instant with a zone -> microseconds since the epoch (UTC); >6 fraction digits truncate."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise RowError("parse", f"{field}: {value!r} is not a valid ISO 8601 instant ({exc})") from None
    if parsed.tzinfo is None:
        raise RowError("parse", f"{field}: {value!r} has no time zone")
    return (parsed - EPOCH) // MICROSECOND


def canonical_user_id(value: int | float | str) -> str:
    """The text both sources agree on: 123, 123.0 (a JSON Schema integer) and "123" are one user."""
    text = str(int(value)) if isinstance(value, float) else str(value)
    if text != text.strip():  # Python's `$` lets "123\n" through the schema pattern
        raise RowError("parse", f"user_id: {value!r} has surrounding whitespace")
    return text


@functools.lru_cache(maxsize=1 << 17, typed=True)  # users repeat all day: one HMAC per distinct id
def pseudonym(user_id: int | float | str, key: bytes) -> str:
    """HMAC-SHA256(key, canonical user id) as hex: stable across sources and runs, irreversible without key."""
    return hmac.digest(key, canonical_user_id(user_id).encode(), "sha256").hex()


@functools.lru_cache(maxsize=1 << 17)  # an address repeats within its sessions
def mask_ip(value: str) -> str:
    """IPv4 -> its /24 (last octet zeroed); IPv6 -> its /48 prefix."""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise RowError("parse", f"ip_address: {value!r} is not an IPv4 or IPv6 address") from None
    if addr.version == 4:
        return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    return str(ipaddress.IPv6Address(int(addr) & _V6_PREFIX_48))


def response_class(status_code: int) -> str:
    """1xx informational, 2xx success, 3xx redirect, 4xx client_error, 5xx server_error."""
    try:
        return RESPONSE_CLASSES[status_code // 100]
    except KeyError:
        raise RowError("parse", f"status_code: {status_code} is outside 100-599") from None
