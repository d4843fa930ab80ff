"""Validate the settings when a run starts: one clear line per problem, naming the setting.

``luigi --module workflows …`` imports this package; when the import comes from the
luigi command line, a missing or malformed setting stops the run before scheduling
(exit code 2) instead of failing deep inside a task with a traceback.
"""
from __future__ import annotations

import os
import sys
from configparser import Error as ConfigError
from urllib.parse import urlparse

import luigi.configuration
import psycopg2.extensions

from targets.lake import checked_root


def _url_ok(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def problems() -> list[str]:
    """Everything wrong with the current configuration, one line each."""
    cfg = luigi.configuration.get_config()
    out: list[str] = []
    values: dict[tuple[str, str], str] = {}
    for section in cfg.sections():  # every section: a pipeline's ${VAR} fails here, not mid-run
        for option in cfg.options(section):
            try:
                values[(section, option)] = cfg.get(section, option)
            except ConfigError as exc:  # e.g. ${VAR} not set in the environment
                detail = str(exc).splitlines()[0]
                out.append(f"[{section}] {option}: {detail}")
    try:
        checked_root(values.get(("lake", "root"), "data/lake"))
    except ValueError as exc:
        out.append(str(exc))
    endpoint = values.get(("s3", "endpoint_url"), "").strip()
    if endpoint and not _url_ok(endpoint):
        out.append(f"[s3] endpoint_url: not an http(s) URL: {endpoint!r}")
    dsn = values.get(("warehouse", "dsn"), "").strip()
    if dsn:
        try:
            port = psycopg2.extensions.parse_dsn(dsn).get("port", "5432")
            if not all(p.strip().isdigit() for p in port.split(",")):
                out.append(f"[warehouse] dsn: port is not a number: {port!r}")
        except psycopg2.ProgrammingError as exc:
            out.append(f"[warehouse] dsn: malformed ({str(exc).strip().splitlines()[0]})")
    for section, option in (("fakestore", "base_url"), ("alerts", "webhook_url"), ("alerts", "scheduler_url")):
        value = values.get((section, option), "").strip()
        if value and not _url_ok(value):
            out.append(f"[{section}] {option}: not an http(s) URL: {value!r}")
    for section, option in (("demo", "seed"), ("demo", "size"), ("fakestore", "retries")):
        value = values.get((section, option))
        if value is not None and not value.strip().lstrip("-").isdigit():
            out.append(f"[{section}] {option}: not an integer: {value!r}")
    return out


def invoked_by_luigi_cli() -> bool:
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    return argv0 == "luigi" or sys.argv[0].endswith(os.path.join("luigi", "__main__.py"))


def validate_or_exit() -> None:
    found = problems()
    if found:
        for line in found:
            print(f"configuration error: {line}", file=sys.stderr)
        sys.exit(2)
