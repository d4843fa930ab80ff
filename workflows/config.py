"""Every setting, one ``luigi.Config`` class per luigi.cfg section, and their validation at start-up.

``luigi.cfg`` holds the defaults; ``LUIGI_CONFIG_PATH`` layers an environment on top and
``${VAR}`` takes secrets from the environment. ``problems()`` parses every option of every
section below with its parameter's own parser (plus URL, DSN and lake-root rules), so a bad
setting is one clear line before anything is scheduled (``validate_or_exit``: exit code 2).
"""
from __future__ import annotations

import os
import sys
from configparser import Error as ConfigError
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import luigi
import luigi.configuration
import psycopg2.extensions
from luigi.parameter import ParameterVisibility

from targets.lake import checked_root

PRIVATE = {"significant": False, "visibility": ParameterVisibility.PRIVATE}


# ── parameter kinds with their own validation ──────────────────────────────────

class UrlParameter(luigi.Parameter):
    """An http(s) URL, or empty."""

    def parse(self, x: str) -> str:
        value = x.strip()
        parsed = urlparse(value)
        if value and not (parsed.scheme in ("http", "https") and parsed.netloc):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value


class DsnParameter(luigi.Parameter):
    """A libpq DSN or URI, or empty."""

    def parse(self, x: str) -> str:
        value = x.strip()
        if value:
            try:
                port = psycopg2.extensions.parse_dsn(value).get("port", "5432")
            except psycopg2.ProgrammingError as exc:
                raise ValueError(f"malformed ({str(exc).strip().splitlines()[0]})") from None
            if not all(p.strip().isdigit() for p in port.split(",")):
                raise ValueError(f"port is not a number: {port!r}")
        return value


class LakeRootParameter(luigi.Parameter):
    def parse(self, x: str) -> str:
        return checked_root(x)


class TimezoneParameter(luigi.Parameter):
    """An IANA time zone name (``UTC``, ``Europe/Berlin``)."""

    def parse(self, x: str) -> str:
        value = x.strip() or "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as UTC or Europe/Berlin)") from None
        return value


# ── the warehouse, the lake, shared settings ───────────────────────────────────

class lake(luigi.Config):  # noqa: N801 - section name [lake]
    root = LakeRootParameter(default="data/lake",
                             description="Lake root: a local folder, or s3://bucket[/prefix] (then [s3] endpoint_url …)")


class s3(luigi.Config):  # noqa: N801 - section name [s3]; every option is passed to boto3
    endpoint_url = UrlParameter(default="", description="S3-protocol endpoint (MinIO: http://minio:9000)")


class warehouse(luigi.Config):  # noqa: N801 - section name [warehouse]
    dsn = DsnParameter(default="", description="libpq DSN/URI of the warehouse; empty = embedded PostgreSQL",
                       **PRIVATE)
    pgdata = luigi.Parameter(default="data/pg", description="Data folder of the embedded PostgreSQL")


class staging(luigi.Config):  # noqa: N801 - section name [staging]
    max_record_bytes = luigi.IntParameter(default=16 << 20,
                                          description="Largest raw record (line) staged; larger ones are quarantined")


class demo(luigi.Config):  # noqa: N801 - section name [demo]
    seed = luigi.IntParameter(default=42, description="Seed of the generated demo sources")
    size = luigi.IntParameter(default=1, description="Scale factor of the generated demo sources")


class quality(luigi.Config):  # noqa: N801 - section name [quality]
    checks_dir = luigi.Parameter(default="", description="Folder of <pipeline>/<entity>.checks.json; "
                                                         "empty = the package's schemas/")
    report_history_days = luigi.IntParameter(default=30, description="Dates shown on the report's Trend sheet")
    mart_checks_dir = luigi.Parameter(default="", description="Folder of <pipeline>/<mart SQL name>.checks.json; "
                                                              "empty = beside each mart's SQL file")
    max_quarantine_share = luigi.FloatParameter(default=0.5, description="Default gate: an entity-day quarantining "
                                                                         "more than this share of its raw units fails")
    warn_quarantine_share = luigi.FloatParameter(default=0.05, description="Default gate: above this share, a warning")
    history_days = luigi.IntParameter(default=14, description="Default gate: trailing days of loaded rows compared")
    history_min_days = luigi.IntParameter(default=3, description="Default gate: fewer earlier days = no verdict")
    history_max_drop = luigi.FloatParameter(default=0.75, description="Default gate: staged rows more than this share "
                                                                      "below the trailing median warn")


class alerts(luigi.Config):  # noqa: N801 - section name [alerts]
    webhook_url = UrlParameter(default="", description="Slack-compatible incoming webhook; empty = none", **PRIVATE)
    scheduler_url = UrlParameter(default="", description="Visualizer URL put in alerts (where to look)")
    timeout = luigi.FloatParameter(default=10.0)


class runall(luigi.Config):  # noqa: N801 - section name [runall]
    pipelines = luigi.ListParameter(default=[], description="Pipelines RunAll and the report cover; "
                                                            "empty = every registered one")


# ── sources: one section per pipeline ──────────────────────────────────────────

class Source(luigi.Config):
    """What every source section has: the time zone of timestamps written without an offset."""

    timezone = TimezoneParameter(default="UTC", description="Zone of timestamps without an offset in this source")


class HttpSource(Source):
    """An HTTP JSON source: retries (urllib3 Retry on 429/5xx, connection errors, cut-short or
    non-JSON bodies) and timeouts."""

    retries = luigi.IntParameter(default=5, description="HTTP retries with exponential backoff")
    backoff_factor = luigi.FloatParameter(default=0.5, description="urllib3 Retry backoff factor (seconds)")
    connect_timeout = luigi.FloatParameter(default=5.0)
    read_timeout = luigi.FloatParameter(default=30.0)


class fakestore(HttpSource):  # noqa: N801 - section name [fakestore]
    base_url = UrlParameter(default="", description="FakeStore API base URL; empty = in-process demo server")
    snapshot_max_age_days = luigi.IntParameter(
        default=1, description="The real API serves products/users as of now: refuse them for an older ds")


class content(Source):  # noqa: N801 - section name [content]
    landing = luigi.Parameter(default="", description="Folder or s3:// prefix of the daily CSV drops; "
                                                      "empty = generated drops")
    demo_events = luigi.IntParameter(default=2000, description="GA4 rows per generated day, times [demo] size")


class activity(Source):  # noqa: N801 - section name [activity]
    landing = luigi.Parameter(default="", description="Folder or s3:// prefix of the daily JSONL drops; "
                                                      "empty = generated drops")
    pseudonym_key = luigi.Parameter(default="", description="HMAC-SHA256 key of the user pseudonyms "
                                                            "(${ACTIVITY_PSEUDONYM_KEY}); empty = demo key", **PRIVATE)
    demo_lines = luigi.IntParameter(default=2000, description="Generated lines per file and day, times [demo] size")
    demo_defect_rate = luigi.FloatParameter(default=0.02, description="Share of generated lines with a defect")
    demo_landing = luigi.Parameter(default="", description="Folder of generated drops; empty = a temp folder")


class bikes(HttpSource):  # noqa: N801 - section name [bikes]
    source_dsn = DsnParameter(default="", description="DSN of the AdventureWorks-shaped source; "
                                                      "empty = a generated database", **PRIVATE)
    currency_url = UrlParameter(default="", description="Currency API base URL; empty = in-process demo API")
    full_refresh = luigi.BoolParameter(default=False, description="Land every table whole, not only ds's changes")


class library(Source):  # noqa: N801 - section name [library]
    source_dsn = DsnParameter(default="", description="DSN of the library application's database; "
                                                      "empty = a generated database", **PRIVATE)
    full_refresh = luigi.BoolParameter(default=False, description="Land every table whole, not only ds's changes")


class incremental(luigi.Config):  # noqa: N801 - section name [incremental]
    lag_days = luigi.IntParameter(default=1, description="Database extracts: days of look-back by default "
                                                         "(the extract for ds reads [ds - lag, ds + 1))")


SECTIONS: tuple[type[luigi.Config], ...] = (lake, s3, warehouse, staging, demo, quality, alerts, runall,
                                            fakestore, content, activity, bikes, library, incremental)


# ── validation ─────────────────────────────────────────────────────────────────

def problems() -> list[str]:
    """Everything wrong with the current configuration, one line each: every option of every
    section (a ``${VAR}`` missing from the environment too), each parsed by its own parameter."""
    cfg = luigi.configuration.get_config()
    out: list[str] = []
    known = {cls.__name__: dict(cls.get_params()) for cls in SECTIONS}
    for section in cfg.sections():
        for option in cfg.options(section):
            try:
                value = cfg.get(section, option)
            except ConfigError as exc:
                out.append(f"[{section}] {option}: {str(exc).splitlines()[0]}")
                continue
            param = known.get(section, {}).get(option)
            if param is None:
                continue
            try:
                param.parse(value)
            except (ValueError, TypeError) as exc:
                what = str(exc).strip() or f"cannot be read as {type(param).__name__}"
                if isinstance(param, (luigi.IntParameter, luigi.FloatParameter)):
                    what = f"not a number: {value!r}"
                out.append(f"[{section}] {option}: {what}")
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
