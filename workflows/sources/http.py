"""JSON-over-HTTP source client: requests + urllib3 Retry, explicit timeouts, clear errors."""
from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from workflows.sources import SourceError

__all__ = ["SourceError", "session", "get_json_list"]


def session(retries: int, backoff_factor: float) -> requests.Session:
    """A session retrying GETs on connection errors, 429 and 5xx with exponential backoff."""
    retry = Retry(
        total=retries,
        backoff_factor=backoff_factor,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def get_json_list(s: requests.Session, url: str, params: dict | None, timeout: tuple[float, float]) -> list:
    """GET ``url`` and return its JSON array body; anything else raises SourceError."""
    try:
        resp = s.get(url, params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceError(f"GET {url} failed: {exc}") from None
    if resp.status_code != 200:
        raise SourceError(f"GET {resp.url} answered HTTP {resp.status_code}: {resp.text[:200]!r}")
    try:
        body = resp.json()
    except ValueError:
        raise SourceError(f"GET {resp.url} did not return JSON: {resp.text[:200]!r}") from None
    if not isinstance(body, list):
        raise SourceError(f"GET {resp.url} returned {type(body).__name__}, expected a JSON array")
    return body
