"""HTTP JSON sources: GET a JSON array with retries, land it as the raw envelope ``{meta, records}``.

requests + urllib3 ``Retry`` retry connection errors, 429 and 5xx with exponential backoff; an
answer cut short (``IncompleteRead``) or a body that is not the JSON it claims is retried the
same way before the task fails with one line. Records land as received (a repeated field or a
NaN token stays visible for staging to quarantine), minus the entity's ``drop_fields``.
"""
from __future__ import annotations

import datetime as dt
import json
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from workflows import jsontext
from workflows.declarations import Entity, Http, Pipeline
from workflows.landing.errors import SourceError

_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
                requests.exceptions.ConnectionError)


def session(retries: int, backoff_factor: float) -> requests.Session:
    """A session retrying GETs on connection errors, 429 and 5xx with exponential backoff."""
    retry = Retry(total=retries, backoff_factor=backoff_factor, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), respect_retry_after_header=True, raise_on_status=False)
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def get_json_list(s: requests.Session, url: str, params: dict | None, timeout: tuple[float, float],
                  retries: int = 0, backoff_factor: float = 0.5) -> list:
    """GET ``url`` and return its JSON array (strictly parsed: see ``jsontext``). A body cut short or
    not JSON is retried ``retries`` times with backoff; then, or on any other bad answer, SourceError."""
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff_factor * 2 ** (attempt - 1))
        try:
            resp = s.get(url, params=params, timeout=timeout)
        except _BODY_ERRORS as exc:  # includes an answer cut short while reading the body
            problem = f"GET {url} failed: {exc}"
            continue
        except requests.RequestException as exc:
            raise SourceError(f"GET {url} failed: {exc}") from None
        if resp.status_code != 200:
            raise SourceError(f"GET {resp.url} answered HTTP {resp.status_code}: {resp.text[:200]!r}")
        try:
            body = jsontext.loads(resp.content)
        except (ValueError, UnicodeDecodeError):
            problem = f"GET {resp.url} did not return JSON: {resp.text[:200]!r}"
            continue
        if not isinstance(body, list):
            raise SourceError(f"GET {resp.url} returned {type(body).__name__}, expected a JSON array")
        return body
    raise SourceError(f"{problem} (after {retries + 1} attempts)")


def _without(record, fields: tuple[str, ...]):
    if not fields or not isinstance(record, dict):
        return record
    if isinstance(record, jsontext.DuplicateFields):
        return jsontext.DuplicateFields([(k, v) for k, v in record.pairs if k not in fields])
    return {k: v for k, v in record.items() if k not in fields}


def land(pipeline: Pipeline, entity: Entity, ds: dt.date, path: str) -> dict:
    """GET the entity's records for ds and write the envelope at ``path``; return its meta."""
    source: Http = entity.source
    cfg = pipeline.settings()
    configured = bool(getattr(cfg, "base_url", ""))  # the real API, not the demo server
    age = (dt.datetime.now(dt.timezone.utc).date() - ds).days
    limit = getattr(cfg, "snapshot_max_age_days", 1)
    if source.snapshot and configured and age > limit:
        raise SourceError(f"{entity.name} is a snapshot the API serves as of now; ds {ds} is {age} days old "
                          f"(> [{pipeline.name}] snapshot_max_age_days = {limit}): not landed under a past ds")
    url = f"{pipeline.http_base(ds).rstrip('/')}{source.path}"
    params = {"startdate": str(ds), "enddate": str(ds + dt.timedelta(days=1))} if source.windowed else None
    started = time.monotonic()
    with session(cfg.retries, cfg.backoff_factor) as s:
        records = get_json_list(s, url, params, (cfg.connect_timeout, cfg.read_timeout), cfg.retries,
                                cfg.backoff_factor)
    records = [_without(r, source.drop_fields) for r in records]
    meta = {"source_url": url, "params": params, "record_count": len(records),
            "seconds": round(time.monotonic() - started, 3)}
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"meta": ' + json.dumps(meta) + ', "records": [')
        f.write(",\n".join(map(jsontext.dumps, records)))
        f.write("]}\n")
    return meta
