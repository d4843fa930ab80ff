"""Generated activity drops: ``user_activities_YYYYMMDD.jsonl`` and ``api_logs_YYYYMMDD.jsonl``.

Deterministic per (seed, ds, lines, defect_rate); streamed to disk line by line,
so a 2,000,000-line day needs no more memory than a 200-line one. Events fall in
[ds 00:00Z, ds+1 00:00Z) but are written in several ISO forms and time zones.
A ``defect_rate`` share of the lines carries one defect each, drawn from
``ACTIVITY_DEFECTS`` / ``API_DEFECTS`` (non-JSON, truncated, missing field,
unknown action, negative response time, status outside 100–599, replayed
request id, naive or impossible timestamps, …). Users overlap between the two
sources only in part, so a per-user join has users on one side only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Callable, TextIO

GENERATOR_VERSION = 1  # bump when the output changes: cached drops are keyed by it
ACTIONS = ("view", "click", "add_to_cart", "purchase")
ACTION_WEIGHTS = (60, 25, 10, 5)
DEVICES = ("mobile", "desktop", "tablet")
DEVICE_WEIGHTS = (11, 7, 2)
PAGES = ("/", "/search", "/cart", "/checkout", "/account", "/deals",
         *(f"/category/{c}" for c in ("shoes", "books", "audio", "garden")),
         *(f"/products/{i}" for i in range(1, 31)))
AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
ENDPOINTS = (
    ("/api/v1/products", "GET"), ("/api/v1/products/{id}", "GET"), ("/api/v1/search", "GET"),
    ("/api/v1/cart", "GET"), ("/api/v1/cart/items", "POST"), ("/api/v1/cart/items/{id}", "DELETE"),
    ("/api/v1/orders", "POST"), ("/api/v1/orders/{id}", "GET"), ("/api/v1/users/me", "GET"),
    ("/api/v1/users/me", "PUT"), ("/health", "GET"),
)
STATUS_CODES = (200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503, 101)
STATUS_WEIGHTS = (700, 40, 30, 10, 30, 30, 20, 10, 50, 10, 20, 5, 5, 1)
# (suffix, offset): the same instant written in different zones and ISO forms.
ZONES = (("Z", 0), ("+00:00", 0), ("+02:00", 120), ("-05:00", -300), ("+0530", 330), ("-0800", -480))
NOT_JSON = ("GET /api/v1/cart HTTP/1.1 200", "<!DOCTYPE html><html>502 Bad Gateway</html>",
            "user_id=17;action=view", "{'user_id': 5, 'action': 'view'}", "null", "[1, 2, 3]")

ACTIVITY_DEFECTS = ("not_json", "truncated", "missing_field", "unknown_action", "unknown_device",
                    "naive_timestamp", "impossible_date")
API_DEFECTS = ("not_json", "truncated", "missing_field", "negative_response_time", "status_out_of_range",
               "duplicate_request_id", "naive_timestamp", "nan_response_time", "response_time_as_text")


def file_name(entity: str, ds: dt.date) -> str:
    """Landing file name of an entity's drop, e.g. ``api_logs_20261120.jsonl``."""
    return f"{entity}_{ds:%Y%m%d}.jsonl"


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random("|".join(map(str, (seed, "activity", *parts))))


def _pool(values: tuple, weights: tuple[int, ...]) -> tuple:
    """A flat tuple where each value appears ``weight`` times: a weighted pick is one index."""
    return tuple(v for v, w in zip(values, weights) for _ in range(w))


def _pick(rng: random.Random, seq: tuple):
    return seq[int(rng.random() * len(seq))]


ACTION_POOL, DEVICE_POOL, STATUS_POOL = (_pool(ACTIONS, ACTION_WEIGHTS), _pool(DEVICES, DEVICE_WEIGHTS),
                                         _pool(STATUS_CODES, STATUS_WEIGHTS))


def users_count(lines: int) -> int:
    """Distinct users behind ``lines`` events: about 25 events per user."""
    return max(10, lines // 25)


def timestamp(rng: random.Random, ds: dt.date) -> str:
    """An instant in [ds, ds+1) UTC, written in one of several ISO 8601 forms and zones."""
    suffix, minutes = _pick(rng, ZONES)
    local = dt.datetime(ds.year, ds.month, ds.day) + dt.timedelta(
        microseconds=int(rng.random() * 86_400_000_000) + minutes * 60_000_000)
    spec = _pick(rng, ("seconds", "milliseconds", "microseconds"))
    return local.isoformat(sep=" " if rng.random() < 0.1 else "T", timespec=spec) + suffix


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(1, len(text) - 1)]  # a proper prefix of an object is never valid JSON


def _defect(rng: random.Random, rate: float, kinds: tuple[str, ...]) -> str | None:
    return _pick(rng, kinds) if rng.random() < rate else None


def _session(seed: int, ds: dt.date, user: int, k: int) -> tuple[str, str, str, str]:
    """(opaque session id, device, user agent, IP) of a user's k-th session of the day."""
    digest = hashlib.blake2b(f"{seed}|{ds}|{user}|{k}".encode(), digest_size=16).digest()
    bits = int.from_bytes(digest[8:14], "big")
    if digest[14] < 51:  # about 20% IPv6
        ip = f"2001:db8:{bits >> 32:x}:{(bits >> 16) & 0xFFFF:x}::{(bits & 0xFFFF) | 1:x}"
    else:
        ip = f"{1 + (bits >> 40) % 223}.{(bits >> 32) & 255}.{(bits >> 24) & 255}.{1 + (bits & 255) % 254}"
    return digest[:8].hex(), DEVICE_POOL[digest[15] % len(DEVICE_POOL)], AGENTS[digest[14] % len(AGENTS)], ip


def _activity(rng: random.Random, ds: dt.date, sessions: dict, seed: int, n_users: int, previous: dict | None) -> dict:
    if previous is not None and rng.random() < 0.03:  # a double click: same user, same instant
        return {**previous, "action": "click"}
    user = 1 + int(rng.random() * n_users)
    k = (user, int(rng.random() * 3))
    if k not in sessions:
        sessions[k] = _session(seed, ds, *k)
    session_id, device, agent, ip = sessions[k]
    return {
        "user_id": user,
        "session_id": session_id,
        "page_url": _pick(rng, PAGES),
        "action": _pick(rng, ACTION_POOL),
        "timestamp": timestamp(rng, ds),
        "device_type": device,
        "user_agent": agent,
        "ip_address": ip,
    }


def _api_log(rng: random.Random, ds: dt.date, n_users: int) -> dict:
    endpoint, method = _pick(rng, ENDPOINTS)
    user = n_users // 5 + int(rng.random() * n_users)  # overlaps the activity users only in part
    elapsed = rng.lognormvariate(4.0, 0.8)
    return {
        "request_id": "{:032x}".format(rng.getrandbits(128)),
        "endpoint": endpoint,
        "method": method,
        "status_code": _pick(rng, STATUS_POOL),
        "response_time": round(elapsed) if rng.random() < 0.3 else round(elapsed, 3),
        "timestamp": timestamp(rng, ds),
        "user_id": str(user) if rng.random() < 0.3 else user,  # the API logs ids as text now and then
    }


def _break_activity(rng: random.Random, kind: str, rec: dict, ds: dt.date) -> str:
    if kind == "not_json":
        return NOT_JSON[rng.randrange(len(NOT_JSON))]
    if kind == "truncated":
        return _truncate(rng, json.dumps(rec))
    if kind == "missing_field":
        del rec[rng.choice(("user_id", "session_id", "page_url", "action", "timestamp", "device_type"))]
    elif kind == "unknown_action":
        rec["action"] = rng.choice(("hover", "scroll", "VIEW", ""))
    elif kind == "unknown_device":
        rec["device_type"] = rng.choice(("smart_tv", "console", None))
    elif kind == "naive_timestamp":
        rec["timestamp"] = f"{ds}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00"
    elif kind == "impossible_date":
        rec["timestamp"] = f"{ds:%Y-%m}-{rng.choice((31, 32, 45))}T10:00:00Z" if ds.month in (2, 4, 6, 9, 11) \
            else f"{ds:%Y}-02-30T10:00:00Z"
    return json.dumps(rec)


def _break_api(rng: random.Random, kind: str, rec: dict, ds: dt.date, replay: str | None) -> str:
    if kind == "duplicate_request_id" and replay is not None:
        return replay  # a replayed log line: same request id (and everything else)
    if kind == "not_json":
        return NOT_JSON[rng.randrange(len(NOT_JSON))]
    if kind == "truncated":
        return _truncate(rng, json.dumps(rec))
    if kind == "missing_field":
        del rec[rng.choice(("request_id", "endpoint", "method", "status_code", "response_time", "timestamp", "user_id"))]
    elif kind == "negative_response_time":
        rec["response_time"] = -round(rng.uniform(1, 500), 3)
    elif kind == "status_out_of_range":
        rec["status_code"] = rng.choice((0, 42, 99, 600, 999))
    elif kind == "naive_timestamp":
        rec["timestamp"] = f"{ds}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.250"
    elif kind == "nan_response_time":
        return json.dumps(rec).replace(f'"response_time": {json.dumps(rec["response_time"])}', '"response_time": NaN')
    elif kind == "response_time_as_text":
        rec["response_time"] = f"{rec['response_time']}ms"
    return json.dumps(rec)


def write_user_activities(out: TextIO, seed: int, ds: dt.date, lines: int, defect_rate: float) -> None:
    """Write ``lines`` activity lines for ``ds`` to ``out``."""
    rng, n_users, previous, sessions = _rng(seed, "user_activities", ds), users_count(lines), None, {}
    for _ in range(lines):
        rec = _activity(rng, ds, sessions, seed, n_users, previous)
        kind = _defect(rng, defect_rate, ACTIVITY_DEFECTS)
        if kind is None:
            previous = rec
            out.write(json.dumps(rec) + "\n")
        else:
            out.write(_break_activity(rng, kind, dict(rec), ds) + "\n")


def write_api_logs(out: TextIO, seed: int, ds: dt.date, lines: int, defect_rate: float) -> None:
    """Write ``lines`` API log lines for ``ds`` to ``out``."""
    rng, n_users, replay = _rng(seed, "api_logs", ds), users_count(lines), None
    for _ in range(lines):
        rec = _api_log(rng, ds, n_users)
        kind = _defect(rng, defect_rate, API_DEFECTS)
        if kind is None:
            text = json.dumps(rec)
            if rng.random() < 0.01:
                replay = text  # remembered for a later replay
        else:
            text = _break_api(rng, kind, dict(rec), ds, replay)
        out.write(text + "\n")


WRITERS: dict[str, Callable[[TextIO, int, dt.date, int, float], None]] = {
    "user_activities": write_user_activities,
    "api_logs": write_api_logs,
}


def write_drop(folder: str | os.PathLike, entity: str, seed: int, ds: dt.date, lines: int, defect_rate: float) -> Path:
    """The entity's drop for ``ds`` in ``folder`` (written atomically; reused when present)."""
    path = Path(folder) / file_name(entity, ds)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".jsonl", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as out:
            WRITERS[entity](out, seed, ds, lines, defect_rate)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def demo_folder(demo_landing: str, seed: int, lines: int, defect_rate: float) -> Path:
    """Folder of the generated drops for the generator version, seed, lines and defect rate
    (``demo_landing``, or a folder in the system's temp directory)."""
    root = Path(demo_landing.strip() or Path(tempfile.gettempdir()) / "luigi-warehouse-activity")
    return root / f"v{GENERATOR_VERSION}-seed={seed}-lines={lines}-defects={defect_rate:g}"
