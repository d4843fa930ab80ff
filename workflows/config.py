"""Every setting, one ``luigi.Config`` class per luigi.cfg section, and their validation at start-up.

``luigi.cfg`` holds the defaults; ``LUIGI_CONFIG_PATH`` layers an environment on top and
``${VAR}`` takes secrets from the environment. ``problems()`` parses every option of every
section below with its parameter's own parser (plus URL, DSN and lake-root rules), so a bad
setting is one clear line before anything is scheduled (``validate_or_exit``: exit code 2).
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from configparser import Error as ConfigError, RawConfigParser
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import luigi
import luigi.configuration
import psycopg2.extensions
from luigi.parameter import OptionalParameterMixin, ParameterVisibility

from targets.lake import checked_root

PRIVATE = {"significant": False, "visibility": ParameterVisibility.PRIVATE}


# ── parameter kinds with their own validation ──────────────────────────────────

class OptionalDateParameter(OptionalParameterMixin, luigi.DateParameter):
    """A date, or None when not given (Luigi has no optional date parameter of its own)."""

    expected_type = dt.date


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
                                            fakestore, content, activity, bikes, library, incremental)  # + cli (below)


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
    return out + _pipeline_problems(out)


def _pipeline_problems(found: list[str]) -> list[str]:
    """[runall] pipelines naming a pipeline that is not registered: one line listing the valid ones."""
    if any(line.startswith("[runall] pipelines") for line in found):
        return []
    from workflows.pipelines import PIPELINES  # lazily: the registry imports this module

    unknown = [name for name in runall().pipelines if name not in PIPELINES]
    if not unknown:
        return []
    return [f"[runall] pipelines: unknown pipeline {', '.join(map(repr, unknown))} "
            f"(valid: {', '.join(sorted(PIPELINES))})"]


def invoked_by_luigi_cli() -> bool:
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    return argv0 == "luigi" or sys.argv[0].endswith(os.path.join("luigi", "__main__.py"))


def validate_or_exit() -> None:
    found = problems()
    if found:
        for line in found:
            print(f"configuration error: {line}", file=sys.stderr)
        sys.exit(2)


# ── the command line: terminal, run logs, dates ────────────────────────────────

class cli(luigi.Config):  # noqa: N801 - section name [cli]; flags without a section prefix: --verbose …
    use_cmdline_section = False
    verbose = luigi.BoolParameter(default=False, description="Show Luigi's full log on the terminal too "
                                                             "(and tracebacks of errors)")
    log_dir = luigi.Parameter(default="data/logs", description="Folder of the per-run log files "
                                                               "(relative: to the project)")
    allow_future_dates = luigi.BoolParameter(default=False, description="Accept a --date after today (UTC); "
                                                                        "for tests only")


# ── where settings come from and what relative paths mean ──────────────────────
#
# Config files, lowest priority first: the package's defaults.cfg, /etc/luigi/*.cfg, the checkout's
# luigi.cfg (whatever the working directory), ./client.cfg and ./luigi.cfg, then $LUIGI_CONFIG_PATH.
# A relative path option is resolved against the project root when the file that set it lies in
# the project (defaults.cfg, luigi.cfg, conf/*.cfg), else against that file's folder.

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULTS_CFG = PACKAGE_DIR / "defaults.cfg"
PATH_OPTIONS = (("lake", "root"), ("warehouse", "pgdata"), ("cli", "log_dir"), ("quality", "checks_dir"),
                ("quality", "mart_checks_dir"), ("content", "landing"), ("activity", "landing"),
                ("activity", "demo_landing"))


def checkout() -> Path | None:
    """The source checkout the package runs from (an editable install, the Docker image), or None."""
    root = PACKAGE_DIR.parent
    return root if (root / "setup.cfg").is_file() and (root / "luigi.cfg").is_file() else None


def project_root() -> Path:
    """Where relative paths point: $WAREHOUSE_HOME, else the checkout, else ~/.local/share/luigi-warehouse."""
    if os.environ.get("WAREHOUSE_HOME"):
        return Path(os.environ["WAREHOUSE_HOME"]).expanduser().resolve()
    found = checkout()
    if found is not None:
        return found
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "luigi-warehouse"


def _origin(section: str, option: str) -> Path | None:
    """The config file whose value of ``[section] option`` is in effect (the last one setting it)."""
    for path in reversed(luigi.configuration.LuigiConfigParser._config_paths):
        parser = RawConfigParser(strict=False)
        try:
            parser.read(path)
        except ConfigError:
            continue
        if parser.has_option(section, option):
            return Path(path).resolve()
    return None


def resolve_path(value: str, origin: Path | None) -> str:
    """``value`` made absolute: against the project root, or ``origin``'s folder if it lies outside it."""
    value = value.strip()
    if not value or "://" in value or os.path.isabs(os.path.expanduser(value)):
        return os.path.expanduser(value)
    root = project_root()
    base = root
    if origin is not None and not origin.is_relative_to(root) and origin != DEFAULTS_CFG:
        base = origin.parent
    return str(base / value)


def load_settings() -> None:
    """Put the package defaults (lowest priority) and the checkout's luigi.cfg on Luigi's config path,
    then make every relative path option absolute (see above). Idempotent."""
    cls = luigi.configuration.LuigiConfigParser
    paths = cls._config_paths
    if str(DEFAULTS_CFG) not in paths:
        paths.insert(0, str(DEFAULTS_CFG))
        found = checkout()
        if found is not None and str(found / "luigi.cfg") not in paths:
            at = max((i for i, p in enumerate(paths) if p.startswith("/etc/")), default=0) + 1
            paths.insert(at, str(found / "luigi.cfg"))
        cls.reload()
    cfg = luigi.configuration.get_config()
    for section, option in PATH_OPTIONS:
        if not cfg.has_option(section, option):
            if (section, option) != ("cli", "log_dir"):
                continue
            if not cfg.has_section(section):
                cfg.add_section(section)
            cfg.set(section, option, resolve_path("data/logs", None))
            continue
        try:
            raw = cfg.get(section, option)
        except ConfigError:  # a ${VAR} missing: reported by problems()
            continue
        resolved = resolve_path(raw, _origin(section, option))
        if resolved != raw:
            cfg.set(section, option, resolved)


# ── dates ──────────────────────────────────────────────────────────────────────

def today_utc() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def future_date_problem(value: dt.date) -> str | None:
    """One line when ``value`` is after today (UTC) and [cli] allow_future_dates is off."""
    if value > today_utc() and not cli().allow_future_dates:
        return (f"--date {value} is in the future (today is {today_utc()} UTC): there is no data for it yet "
                "([cli] allow_future_dates = true allows it, for tests)")
    return None


SECTIONS = SECTIONS + (cli,)
load_settings()
