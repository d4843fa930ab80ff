"""Peers benchmark (issue 13): the project's content and activity pipelines next to a plain COPY floor, dlt and pandas.

Run:  make bench-peers                       # installs the `bench` extra (dlt, pandas), then:
      .venv/bin/python bench/bench_peers.py [--sizes …] [--runs 3] [--dsn URI]
      .venv/bin/python bench/bench_peers.py --sizes 2000 --runs 1     # smoke: a minute or two

--sizes takes lists such as ``content:250000,1000000 activity:250000,1000000,2000000`` (the
default); a bare ``2000`` means every workload at 2000. Content sizes are GA4 rows of the
generated day (``write_drop(…, ga4_rows)``), activity sizes are lines (both files together).

How it measures. One PostgreSQL server for everything: an embedded one
(``workflows.warehouse.embedded_dsn(<tmp>/pgdata)``) or ``--dsn`` (a SCRATCH server whose user may
CREATE DATABASE; databases ``bench_peers_<pid>_<n>`` are made and dropped). Per workload and size
the day is generated once (seed 42, ds 2026-11-20) into a folder that every method reads, and the
floor's clean CSVs are prepared once (untimed). Then the methods run interleaved — run 1 of every
method, run 2 of every method, … — each run in its own child process and in a fresh database
that is dropped afterwards. Peak RSS (the maximum over the runs) is the child's own: its VmHWM
(since exec) and the largest child process it reaped (the project's Luigi workers: the largest
process, not their sum); not ``os.wait4``'s ru_maxrss, which Linux makes at least the parent's
RSS at spawn time (the forked parent's high-water mark survives exec). The server's memory is
not counted. "seconds" is the method's work measured inside the child, after its imports and
untimed setup (the project's schema migration, the floor's CREATE TABLE), up to its end state
committed; the median over the runs is reported (the note column is the last run's, with dlt's
extract / normalize / load seconds). "rows" is the same figure for every
method of a day: the data lines of the files the workload reads (content: the GA4 and GAM CSVs
without header lines; activity: all lines of both JSONL files), so rows/s ratios are time ratios.
"× floor" = rows/s ÷ the COPY floor's rows/s. "end rows" is what the method ended with (peers are
not held to the project's exactness; it is printed so that differences show).

Content workload: ``workflows.demo.content_data.write_drop(folder, 42, ds, ga4_rows)`` — the GA4,
GAM and CMS CSVs with the generator's duplicates, late rows and malformed lines.
- project: landing CSV -> refreshed ``mart.daily_summary``:
  ``luigi.build([Refresh(date=ds, pipeline="content", view="daily_summary")], workers=2,
  local_scheduler=True)`` with ``[content] landing`` = the folder (Extract, Stage, Load, both marts,
  checks, REFRESH). end rows = staging.content_ga4_events + staging.content_gam_delivery.
- plain COPY floor: ``COPY … FROM STDIN (FORMAT csv)`` of the valid rows of the GA4 and GAM files
  into typed tables without indexes (timestamptz, bigint, numeric, text). The clean CSVs are made
  before timing, untimed: pyarrow's CSV reader (rows with the wrong field count skipped), then rows
  whose typed fields do not parse (ISO timestamp with a real calendar date, integers, decimals,
  required fields present) dropped, vectorised.
- dlt default: a ``@dlt.resource`` per file yielding the dicts of ``csv.DictReader`` over the raw
  file in lists of 10,000 (dlt's own advice; one dict per yield makes dlt's extract step ~2.5×
  slower), rows with the wrong field count skipped, each with ``row_hash`` = sha256 hex over the
  row's fields joined by U+001F, computed in Python; ``write_disposition="merge"``,
  ``primary_key="row_hash"`` (dlt's delete-insert merge, which also collapses duplicates within
  the load: exact duplicates collapse, as in the project). Everything else dlt's defaults
  (insert_values files, gzip). The CMS file is not loaded by the peers (≤ 500 rows).
- dlt tuned: the same rows as Arrow tables (``pyarrow.csv.open_csv``, invalid rows skipped, every
  column read as text: a typed read stops the whole file at the first malformed value, so typing
  and validation stay the project's job), ``row_hash`` (the same hash, over the same text) added as
  a column, ``loader_file_format="csv"`` (dlt's postgres destination loads csv with COPY; parquet
  would need the ADBC driver, which dlt[postgres] does not install), compression off
  (``[normalize.data_writer] disable_compression`` and ``[data_writer]``), merge on row_hash.

Activity workload: ``workflows.demo.activity_data.write_drop(folder, entity, 42, ds, N/2, 0.02)``
for user_activities and api_logs (2 % defective lines: bad JSON, missing fields, bad values, …).
- project: landing -> marts + exports: ``luigi.build([Export(date=ds, pipeline="activity")],
  workers=2, local_scheduler=True)`` with ``[activity] landing`` = the folder and a pseudonym key.
  end rows = the staged rows of both staging tables.
- plain COPY floor: COPY of the valid rows (a JSON object, required fields present with the
  right types, an ISO timestamp (naive ones read as UTC), status 100–599, response time ≥ 0; made
  into CSV before timing, untimed, with Python) into typed tables without indexes.
- dlt default: a resource per file yielding ``json.loads`` of each line in lists of 10,000 (lines
  that are not a JSON object skipped), ``write_disposition="append"``, dlt's defaults otherwise.
- dlt from Arrow: lines parsed with orjson (bad lines skipped) into a pyarrow table per 65,536
  lines with a declared schema (user_id as text — the source writes it as number or text —,
  status_code int64, response_time float64, the rest text; values that do not fit the type become
  NULL), yielded as Arrow; append, ``loader_file_format="csv"``, compression off.
- pandas script: each JSONL read into a DataFrame (orjson per line, bad lines skipped;
  ``pd.read_json`` has no way to skip them), timestamps ``pd.to_datetime(utc=True,
  format="ISO8601", errors="coerce")``, numbers ``pd.to_numeric(errors="coerce")``, rows missing a
  required value dropped; then the seed's aggregates — action counts, page visits, device counts,
  status-code counts, average response time per endpoint and method, requests per user, average
  time between a user's distinct action instants — each written to PostgreSQL with COPY.
  end rows = the records aggregated (both files).

Measured figures depend on the machine's other load: run it on a quiet machine. Not a test.
"""
from __future__ import annotations

import argparse
import atexit
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DS = dt.date(2026, 11, 20)
SEED = 42
DEFECT_RATE = 0.02
WORKLOADS = ("content", "activity")
DEFAULT_SIZES = ("content:250000,1000000", "activity:250000,1000000,2000000")
METHODS = {
    "content": ("project", "floor", "dlt_default", "dlt_tuned"),
    "activity": ("project", "floor", "dlt_default", "dlt_arrow", "pandas"),
}
LABELS = {"project": "this project", "floor": "plain COPY floor", "dlt_default": "dlt default",
          "dlt_tuned": "dlt tuned", "dlt_arrow": "dlt from Arrow", "pandas": "pandas script"}
NOT_PEERS = ("project", "floor")
TUNED = ("dlt_tuned", "dlt_arrow")  # dlt runs with compression off
CONTENT_FILES = ("ga4_events", "gam_delivery")
ACTIVITY_FILES = ("user_activities", "api_logs")
# typed columns of the floor tables (and the checks of its clean CSVs): name -> (kind, required)
CONTENT_TYPES = {
    "ga4_events": {"event_timestamp": ("timestamp", True), "event_name": ("text", True),
                   "user_pseudo_id": ("text", True), "session_id": ("integer", True),
                   "content_id": ("integer", True), "page_location": ("text", False),
                   "engagement_time_msec": ("integer", False), "device_category": ("text", False),
                   "country": ("text", False)},
    "gam_delivery": {"served_at": ("timestamp", True), "site": ("text", False), "ad_unit": ("text", True),
                     "line_item": ("text", True), "creative": ("text", True), "content_id": ("integer", True),
                     "impressions": ("integer", True), "clicks": ("integer", True),
                     "revenue_usd": ("numeric", True)},
}
ACTIVITY_TYPES = {
    "user_activities": {"user_id": ("id", True), "session_id": ("text", True), "page_url": ("text", True),
                        "action": ("text", True), "timestamp": ("timestamp", True),
                        "device_type": ("text", True), "user_agent": ("text", False),
                        "ip_address": ("text", False)},
    "api_logs": {"request_id": ("text", True), "endpoint": ("text", True), "method": ("text", True),
                 "status_code": ("integer", True), "response_time": ("numeric", True),
                 "timestamp": ("timestamp", True), "user_id": ("id", True)},
}
PG_TYPES = {"timestamp": "timestamptz", "integer": "bigint", "numeric": "numeric(18, 6)", "text": "text", "id": "text"}
ARROW_CHUNK = 65_536
DICT_PAGE = 10_000  # dlt default yields lists of this many dicts (one dict per yield: dlt's extract ~2.5× slower)
PATTERNS = {  # what a typed COPY accepts, for the content floor's clean CSVs
    "integer": r"^-?[0-9]{1,18}$",
    "numeric": r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$",
    "timestamp": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z$",
}


# ── pure helpers: sizes, medians, the tables ───────────────────────────────────

def parse_sizes(items: list[str]) -> dict[str, list[int]]:
    """``["content:250000,1000000", "activity:2000"]`` or ``["2000"]`` (every workload) -> sizes per workload."""
    sizes: dict[str, list[int]] = {}
    for item in items:
        workload, _, numbers = item.rpartition(":")
        if workload and workload not in WORKLOADS:
            raise ValueError(f"unknown workload {workload!r} in --sizes {item!r} (known: {', '.join(WORKLOADS)})")
        try:
            values = [int(n.replace("_", "")) for n in numbers.split(",") if n.strip()]
        except ValueError:
            raise ValueError(f"--sizes {item!r}: not a comma-separated list of integers") from None
        if not values or min(values) < 100:
            raise ValueError(f"--sizes {item!r}: sizes must be integers of at least 100")
        for w in ([workload] if workload else WORKLOADS):
            sizes[w] = values
    return {w: sizes[w] for w in WORKLOADS if w in sizes}


@dataclass(frozen=True)
class Run:
    """One method run: seconds of work, rows it ended with, the child's peak RSS (MiB), a note."""
    seconds: float
    end_rows: int
    rss_mib: int
    detail: str = ""


@dataclass(frozen=True)
class Summary:
    method: str
    runs: int
    median_s: float
    rows_per_s: float
    x_floor: float | None
    end_rows: int
    peak_rss_mib: int
    detail: str


def summarize(rows: int, runs: dict[str, list[Run]]) -> list[Summary]:
    """Per method (in the given order): median seconds, rows/s = rows ÷ median, × the floor's rows/s, max RSS."""
    out = []
    for method, done in runs.items():
        if not done:
            continue
        median = statistics.median(r.seconds for r in done)
        out.append(Summary(method, len(done), median, rows / median, None, done[-1].end_rows,
                           max(r.rss_mib for r in done), done[-1].detail))
    floor = next((s for s in out if s.method == "floor"), None)
    if floor is None:
        return out
    return [Summary(s.method, s.runs, s.median_s, s.rows_per_s, s.rows_per_s / floor.rows_per_s, s.end_rows,
                    s.peak_rss_mib, s.detail) for s in out]


def best_peer(summaries: list[Summary]) -> tuple[str, float] | None:
    """(the fastest peer, the project's rows/s ÷ that peer's rows/s), or None without both."""
    project = next((s for s in summaries if s.method == "project"), None)
    peers = [s for s in summaries if s.method not in NOT_PEERS]
    if project is None or not peers:
        return None
    best = max(peers, key=lambda s: s.rows_per_s)
    return best.method, project.rows_per_s / best.rows_per_s


def format_table(title: str, rows: int, summaries: list[Summary], failed: list[str]) -> str:
    """The per-size table: method, rows, median seconds, rows/s, × floor, end rows, peak RSS."""
    head = f"{'method':<18}{'rows':>12}{'median s':>10}{'rows/s':>11}{'× floor':>9}{'end rows':>12}{'peak RSS MiB':>14}  note"
    lines = [title, head]
    for s in summaries:
        x = f"{s.x_floor:.3f}" if s.x_floor is not None else "—"
        lines.append(f"{LABELS.get(s.method, s.method):<18}{rows:>12,}{s.median_s:>10.2f}{s.rows_per_s:>11,.0f}{x:>9}"
                     f"{s.end_rows:>12,}{s.peak_rss_mib:>14,}  {s.detail}")
    lines += [f"{LABELS.get(m, m):<18}  FAILED (see the error above)" for m in failed]
    ratio = best_peer(summaries)
    if ratio:
        lines.append(f"this project ÷ best peer ({LABELS[ratio[0]]}): {ratio[1]:.2f}×")
    return "\n".join(lines)


def issue_row(workload: str, summaries: list[Summary]) -> str:
    """One markdown row of the issue's table: | workload | this project | peers, best first | floor |."""
    by = {s.method: s for s in summaries}

    def cell(s: Summary, with_label: bool) -> str:
        x = f" ({s.x_floor:.3f}×)" if s.x_floor is not None else ""
        return f"{LABELS[s.method] + ': ' if with_label else ''}{s.rows_per_s:,.0f} rows/s{x}, {s.median_s:.1f} s"

    peers = sorted((s for s in summaries if s.method not in NOT_PEERS), key=lambda s: -s.rows_per_s)
    ratio = best_peer(summaries)
    project = "—"
    if "project" in by:
        project = cell(by["project"], False) + (f"; {ratio[1]:.2f}× the best peer" if ratio else "")
    floor = f"{by['floor'].rows_per_s:,.0f} rows/s, {by['floor'].median_s:.1f} s" if "floor" in by else "—"
    return f"| {workload} | {project} | {'; '.join(cell(s, True) for s in peers) or '—'} | {floor} |"


def rss_table(workload: str, by_size: dict[int, list[Summary]]) -> str:
    """Peak RSS (MiB) of every method at every size of a workload, sizes as columns."""
    methods = list(dict.fromkeys(s.method for summaries in by_size.values() for s in summaries))
    lines = [f"{'peak RSS MiB, ' + workload:<28}" + "".join(f"{size:>12,}" for size in by_size)]
    for method in methods:
        cells = [next((f"{s.peak_rss_mib:,}" for s in summaries if s.method == method), "—")
                 for summaries in by_size.values()]
        lines.append(f"{LABELS.get(method, method):<28}" + "".join(f"{c:>12}" for c in cells))
    return "\n".join(lines)


# ── the day's data (untimed) ───────────────────────────────────────────────────

@dataclass(frozen=True)
class Day:
    folder: Path        # the landing folder every method reads
    rows: int           # data lines of the files the workload reads
    floor: dict         # entity -> clean CSV of the floor (no header)
    floor_rows: int


def data_lines(path: Path, header: bool) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f) - (1 if header else 0)


def content_file(folder: Path, entity: str) -> Path:
    from workflows.demo import content_data

    return folder / content_data.file_name(entity, DS)


def activity_file(folder: Path, entity: str) -> Path:
    from workflows.demo import activity_data

    return folder / activity_data.file_name(entity, DS)


def _valid_dates(stamps) -> set[str]:
    """The distinct YYYY-MM-DD prefixes of ``stamps`` that are real calendar dates."""
    import pyarrow.compute as pc

    valid = set()
    for day in pc.unique(pc.utf8_slice_codeunits(stamps, 0, 10)).to_pylist():
        try:
            dt.date.fromisoformat(day)
            valid.add(day)
        except (TypeError, ValueError):
            pass
    return valid


def clean_content_csv(raw: Path, types: dict, out: Path) -> int:
    """The rows of ``raw`` a typed COPY accepts, written to ``out`` as CSV without a header; their count."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(block_size=1 << 24)
    parse = pacsv.ParseOptions(invalid_row_handler=lambda row: "skip")
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in types}, strings_can_be_null=True)
    rows = 0
    with pacsv.open_csv(str(raw), read, parse, convert) as reader, \
            pacsv.CSVWriter(str(out), reader.schema, write_options=pacsv.WriteOptions(include_header=False)) as w:
        if reader.schema.names != list(types):
            raise SystemExit(f"{raw.name}: columns {reader.schema.names} are not the floor table's {list(types)}")
        for batch in reader:
            ok = pa.array([True] * batch.num_rows)
            for name, (kind, required) in types.items():
                col = batch.column(name)
                good = pc.is_valid(col) if required else pa.array([True] * batch.num_rows)
                if kind in PATTERNS:
                    fits = pc.match_substring_regex(col, PATTERNS[kind])
                    if kind == "timestamp":
                        fits = pc.and_(fits, pc.is_in(pc.utf8_slice_codeunits(col, 0, 10),
                                                      value_set=pa.array(sorted(_valid_dates(col)), pa.string())))
                    good = pc.and_kleene(good, fits if required else pc.or_kleene(pc.is_null(col), fits))
                ok = pc.and_(ok, pc.fill_null(good, False))
            kept = batch.filter(ok)
            w.write_batch(kept)
            rows += kept.num_rows
    return rows


def _activity_value(kind: str, value):
    """The CSV text of one JSON value for a floor column of ``kind``; raises ValueError if it does not fit."""
    if kind == "id" and (type(value) is int or (type(value) is str and value)):
        return str(value)
    if kind == "text" and type(value) is str:
        return value
    if kind == "integer" and type(value) is int and 100 <= value <= 599:
        return str(value)
    if kind == "numeric" and type(value) in (int, float) and 0 <= value < 1e12:
        return repr(value)
    if kind == "timestamp" and type(value) is str:
        stamp = dt.datetime.fromisoformat(value)
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)).isoformat()
    raise ValueError(kind)


def clean_activity_csv(raw: Path, types: dict, out: Path) -> int:
    """The valid lines of a JSONL file as typed CSV rows (no header) in ``out``; their count."""
    import orjson

    rows = 0
    with open(raw, "rb") as f, open(out, "w", newline="", encoding="utf-8") as o:
        w = csv.writer(o, lineterminator="\n")
        for line in f:
            try:
                rec = orjson.loads(line)
                if not isinstance(rec, dict):
                    continue
                values = []
                for name, (kind, required) in types.items():
                    value = rec.get(name)
                    if value is None and not required:
                        values.append(None)
                    else:
                        values.append(_activity_value(kind, value))
            except (orjson.JSONDecodeError, ValueError):
                continue
            w.writerow(values)
            rows += 1
    return rows


def prepare(workload: str, size: int, folder: Path) -> Day:
    """Generate the day's drop into ``folder/landing`` and the floor's clean CSVs (untimed)."""
    landing = folder / "landing"
    if workload == "content":
        from workflows.demo import content_data

        content_data.write_drop(landing, SEED, DS, size)
        rows = sum(data_lines(content_file(landing, e), header=True) for e in CONTENT_FILES)
        floor = {e: folder / f"floor_{e}.csv" for e in CONTENT_FILES}
        floor_rows = sum(clean_content_csv(content_file(landing, e), CONTENT_TYPES[e], floor[e]) for e in CONTENT_FILES)
    else:
        from workflows.demo import activity_data

        for entity in ACTIVITY_FILES:
            activity_data.write_drop(landing, entity, SEED, DS, size // 2, DEFECT_RATE)
        rows = sum(data_lines(activity_file(landing, e), header=False) for e in ACTIVITY_FILES)
        floor = {e: folder / f"floor_{e}.csv" for e in ACTIVITY_FILES}
        floor_rows = sum(clean_activity_csv(activity_file(landing, e), ACTIVITY_TYPES[e], floor[e])
                         for e in ACTIVITY_FILES)
    return Day(landing, rows, {e: str(p) for e, p in floor.items()}, floor_rows)


# ── shared by the children ─────────────────────────────────────────────────────

def connect(dsn: str):
    import psycopg2

    return psycopg2.connect(dsn, application_name="bench_peers")


def count_rows(dsn: str, tables: list[tuple[str, str]]) -> int:
    from psycopg2 import sql

    with connect(dsn) as conn, conn.cursor() as cur:
        total = 0
        for schema, table in tables:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table)))
            total += cur.fetchone()[0]
    conn.close()
    return total


def dlt_url(dsn: str) -> str:
    """A libpq DSN as the URL dlt's postgres credentials take (a socket directory goes in the query)."""
    import psycopg2.extensions

    p = psycopg2.extensions.parse_dsn(dsn)
    host, port = p.pop("host", "localhost"), p.pop("port", "5432")
    user, password, db = p.pop("user", "postgres"), p.pop("password", "") or "unused", p.pop("dbname")
    query = dict(p)
    if host.startswith("/"):
        query["host"], host = host, "localhost"  # libpq: a query parameter host overrides the URL's
    tail = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(db, safe='')}{tail}"


def dlt_pipeline(spec: dict, name: str):
    import dlt

    return dlt.pipeline(pipeline_name=name, pipelines_dir=str(Path(spec["workdir"]) / "dlt_pipelines"),
                        destination=dlt.destinations.postgres(credentials=dlt_url(spec["dsn"])),
                        dataset_name="bench")


def dlt_files(info, tables) -> str:
    """Formats of the data files dlt loaded into ``tables``, and whether gzipped: ``csv files, uncompressed``."""
    formats, gz = set(), set()
    for package in info.load_packages:
        for job in package.jobs.get("completed_jobs", []):
            if job.job_file_info.table_name not in tables or job.job_file_info.file_format == "sql":
                continue
            formats.add(job.job_file_info.file_format)
            try:
                with open(job.file_path, "rb") as f:
                    gz.add(f.read(2) == b"\x1f\x8b")
            except OSError:
                pass
    packing = "gzip" if gz == {True} else "uncompressed" if gz == {False} else "mixed" if gz else "?"
    return f"{'+'.join(sorted(formats))} files, {packing}"


def dlt_steps(pipeline) -> str:
    """Seconds of dlt's steps in the last run, e.g. ``extract 2.1 normalize 0.4 load 3.0``."""
    steps = [(s.step, (s.finished_at - s.started_at).total_seconds()) for s in pipeline.last_trace.steps
             if s.step in ("extract", "normalize", "load") and s.finished_at]
    return " ".join(f"{name} {seconds:.1f}" for name, seconds in steps)


def create_tables(cur, schema: str, types: dict[str, dict]) -> None:
    from psycopg2 import sql

    cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    for table, columns in types.items():
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(
            sql.Identifier(schema, table),
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(PG_TYPES[kind]))
                               for c, (kind, _) in columns.items())))


def copy_csv(cur, schema: str, table: str, columns, f) -> None:
    from psycopg2 import sql

    cur.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns))), f, size=1 << 20)


# ── the methods (each runs in a child; returns seconds, end rows, a note) ──────

def run_project(spec: dict) -> tuple[float, int, str]:
    import luigi
    import luigi.configuration

    from workflows import warehouse

    workload, workdir = spec["workload"], Path(spec["workdir"])
    luigi.configuration.add_config_path(str(ROOT / "luigi.cfg"))
    cfg = luigi.configuration.get_config()
    settings = {"warehouse": {"dsn": spec["dsn"].replace("%", "%%")}, "lake": {"root": str(workdir / "lake")},
                workload: {"landing": spec["folder"]}, "runall": {"pipelines": json.dumps([workload])}}
    if workload == "activity":
        settings["activity"]["pseudonym_key"] = "bench-only-key"
    for section, options in settings.items():
        if not cfg.has_section(section):
            cfg.add_section(section)
        for key, value in options.items():
            cfg.set(section, key, value)
    conn = connect(spec["dsn"])
    warehouse.migrate(conn)
    conn.close()
    if workload == "content":
        from workflows.tasks.refresh import Refresh

        task = Refresh(date=DS, pipeline="content", view="daily_summary")
        tables = [("staging", "content_ga4_events"), ("staging", "content_gam_delivery")]
    else:
        from workflows.tasks.export import Export

        task = Export(date=DS, pipeline="activity")
        tables = [("staging", "activity_user_activities"), ("staging", "activity_api_logs")]
    t0 = time.perf_counter()
    result = luigi.build([task], workers=2, local_scheduler=True, detailed_summary=True, log_level="WARNING")
    seconds = time.perf_counter() - t0
    if not result.status.name.startswith("SUCCESS"):
        raise SystemExit(f"the project's run ended {result.status.name}:\n{result.summary_text}")
    end = count_rows(spec["dsn"], tables)
    if workload == "content":
        note = f"daily_summary {count_rows(spec['dsn'], [('mart', 'daily_summary')]):,} rows"
    else:
        exports = workdir / "lake" / "exports" / "activity" / f"ds={DS}"
        note = f"{len(list(exports.glob('*.json')))} export files"
    return seconds, end, note


def run_floor(spec: dict) -> tuple[float, int, str]:
    types = CONTENT_TYPES if spec["workload"] == "content" else ACTIVITY_TYPES
    conn = connect(spec["dsn"])
    with conn.cursor() as cur:
        create_tables(cur, "floor", types)
    conn.commit()
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        for table, path in spec["floor"].items():
            with open(path, "rb") as f:
                copy_csv(cur, "floor", table, list(types[table]), f)
    conn.commit()
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, count_rows(spec["dsn"], [("floor", t) for t in types]), "typed tables, no indexes"


def _row_hash(values) -> str:
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()


def _pages(rows):
    """``rows`` in lists of DICT_PAGE."""
    it = iter(rows)
    while page := list(itertools.islice(it, DICT_PAGE)):
        yield page


def _dict_rows(path: str):
    """csv.DictReader's rows of ``path`` with a row_hash; rows with the wrong field count skipped."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            if None in row or None in row.values():
                continue
            row["row_hash"] = _row_hash(row.values())
            yield row


def _arrow_csv(path: str):
    """``path`` as Arrow tables of text columns (invalid rows skipped) with a row_hash column."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    with open(path, newline="", encoding="utf-8") as f:
        names = next(csv.reader(f))
    read = pacsv.ReadOptions(block_size=1 << 24)
    parse = pacsv.ParseOptions(invalid_row_handler=lambda row: "skip")
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                   quoted_strings_can_be_null=False)
    with pacsv.open_csv(path, read, parse, convert) as reader:
        for batch in reader:
            joined = pc.cast(pc.binary_join_element_wise(*batch.columns, "\x1f"), pa.binary()).to_pylist()
            hashes = pa.array([hashlib.sha256(v).hexdigest() for v in joined], pa.string())
            yield pa.Table.from_batches([batch]).append_column("row_hash", hashes)


def run_dlt_content(spec: dict) -> tuple[float, int, str]:
    import dlt

    folder, tuned = Path(spec["folder"]), spec["method"] == "dlt_tuned"
    make = _arrow_csv if tuned else (lambda path: _pages(_dict_rows(path)))
    t0 = time.perf_counter()
    resources = [dlt.resource(make(str(content_file(folder, e))), name=e, write_disposition="merge",
                              primary_key="row_hash") for e in CONTENT_FILES]
    pipeline = dlt_pipeline(spec, spec["method"])
    info = pipeline.run(resources, loader_file_format="csv" if tuned else None)
    seconds = time.perf_counter() - t0
    info.raise_on_failed_jobs()
    note = f"merge; {dlt_files(info, CONTENT_FILES)}; s: {dlt_steps(pipeline)}"
    return seconds, count_rows(spec["dsn"], [("bench", e) for e in CONTENT_FILES]), note


def _json_rows(path: str):
    """Each line's json.loads that is a JSON object; other lines skipped."""
    with open(path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                yield rec


def _arrow_column(values: list, typ):
    import pyarrow as pa

    try:
        return pa.array(values, typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        if typ == pa.string():
            fit = [None if v is None else v if type(v) is str else str(v) for v in values]
        elif typ == pa.int64():
            fit = [v if type(v) is int and -2 ** 63 <= v < 2 ** 63 else None for v in values]
        else:
            fit = [float(v) if type(v) in (int, float) and abs(v) < 1e300 else None for v in values]
        return pa.array(fit, typ)


def _arrow_jsonl(path: str, entity: str):
    """``path`` as Arrow tables of ARROW_CHUNK lines with a declared schema (orjson; bad lines skipped)."""
    import orjson
    import pyarrow as pa

    kinds = {"integer": pa.int64(), "numeric": pa.float64()}
    schema = [(name, kinds.get(kind, pa.string())) for name, (kind, _) in ACTIVITY_TYPES[entity].items()]

    def table(recs: list[dict]):
        return pa.table({name: _arrow_column([r.get(name) for r in recs], typ) for name, typ in schema})

    recs = []
    with open(path, "rb") as f:
        for line in f:
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                recs.append(rec)
            if len(recs) == ARROW_CHUNK:
                yield table(recs)
                recs = []
    if recs:
        yield table(recs)


def run_dlt_activity(spec: dict) -> tuple[float, int, str]:
    import dlt

    folder, arrow = Path(spec["folder"]), spec["method"] == "dlt_arrow"
    t0 = time.perf_counter()
    resources = [dlt.resource(_arrow_jsonl(str(activity_file(folder, e)), e) if arrow
                              else _pages(_json_rows(str(activity_file(folder, e)))), name=e,
                              write_disposition="append")
                 for e in ACTIVITY_FILES]
    pipeline = dlt_pipeline(spec, spec["method"])
    info = pipeline.run(resources, loader_file_format="csv" if arrow else None)
    seconds = time.perf_counter() - t0
    info.raise_on_failed_jobs()
    note = f"append; {dlt_files(info, ACTIVITY_FILES)}; s: {dlt_steps(pipeline)}"
    return seconds, count_rows(spec["dsn"], [("bench", e) for e in ACTIVITY_FILES]), note


def _frame(path: str):
    import orjson
    import pandas as pd

    recs = []
    with open(path, "rb") as f:
        for line in f:
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                recs.append(rec)
    return pd.DataFrame.from_records(recs)


def _id_text(value) -> str | None:
    """A user id (int, text, or a float pandas made of an int column with gaps) as text; None when missing."""
    if value is None or value != value:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _write_frame(cur, name: str, df) -> int:
    """CREATE TABLE pandas.<name> from the frame's dtypes and COPY its rows in; the row count."""
    import pandas as pd
    from psycopg2 import sql

    def pg(dtype) -> str:
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_integer_dtype(dtype):
            return "bigint"
        if pd.api.types.is_float_dtype(dtype):
            return "double precision"
        return "timestamptz" if pd.api.types.is_datetime64_any_dtype(dtype) else "text"

    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier("pandas", name), sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(str(c)), sql.SQL(pg(t))) for c, t in df.dtypes.items())))
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False)
    buf.seek(0)
    copy_csv(cur, "pandas", name, [str(c) for c in df.columns], buf)
    return len(df)


def run_pandas(spec: dict) -> tuple[float, int, str]:
    import pandas as pd
    from psycopg2 import sql

    folder = Path(spec["folder"])
    conn = connect(spec["dsn"])
    t0 = time.perf_counter()
    ua, api = (_frame(str(activity_file(folder, e))) for e in ACTIVITY_FILES)
    for df in (ua, api):
        df["ts"] = pd.to_datetime(df["timestamp"].astype("string"), utc=True, format="ISO8601", errors="coerce")
        df["user_id"] = df["user_id"].map(_id_text)
    api["status_code"] = pd.to_numeric(api["status_code"], errors="coerce")
    api["response_time"] = pd.to_numeric(api["response_time"], errors="coerce")
    ua = ua.dropna(subset=["user_id", "session_id", "page_url", "action", "ts", "device_type"])
    api = api.dropna(subset=["request_id", "endpoint", "method", "status_code", "response_time", "ts", "user_id"])
    api = api.assign(status_code=api["status_code"].astype("int64"), error=api["status_code"] >= 400)
    instants = ua[["user_id", "ts"]].drop_duplicates().sort_values(["user_id", "ts"])
    instants["gap_s"] = instants.groupby("user_id")["ts"].diff().dt.total_seconds()
    aggregates = {
        "action_counts": ua.groupby("action").agg(action_count=("user_id", "size"),
                                                  user_count=("user_id", "nunique")).reset_index(),
        "page_visits": ua.groupby("page_url").agg(visit_count=("user_id", "size"),
                                                  visitor_count=("user_id", "nunique")).reset_index(),
        "device_counts": ua.groupby("device_type").agg(event_count=("user_id", "size"),
                                                       user_count=("user_id", "nunique")).reset_index(),
        "status_code_counts": api.groupby("status_code").size().rename("request_count").reset_index(),
        "endpoint_latency": api.groupby(["endpoint", "method"]).agg(
            request_count=("response_time", "size"), avg_response_time_ms=("response_time", "mean")).reset_index(),
        "requests_per_user": api.groupby("user_id").agg(request_count=("error", "size"),
                                                        error_count=("error", "sum")).reset_index(),
        "user_action_intervals": instants.dropna(subset=["gap_s"]).groupby("user_id").agg(
            avg_seconds_between_actions=("gap_s", "mean")).reset_index(),
    }
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier("pandas")))
        written = sum(_write_frame(cur, name, df) for name, df in aggregates.items())
    conn.commit()
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, len(ua) + len(api), f"{len(aggregates)} aggregates, {written:,} rows"


RUNNERS = {("content", "project"): run_project, ("content", "floor"): run_floor,
           ("content", "dlt_default"): run_dlt_content, ("content", "dlt_tuned"): run_dlt_content,
           ("activity", "project"): run_project, ("activity", "floor"): run_floor,
           ("activity", "dlt_default"): run_dlt_activity, ("activity", "dlt_arrow"): run_dlt_activity,
           ("activity", "pandas"): run_pandas}


def peak_rss_mib() -> int:
    """Peak RSS of this process and of the children it waited for (Luigi's worker processes), MiB.

    Not the parent's os.wait4 ru_maxrss: on exec Linux carries the high-water mark of the forked
    parent's memory into the child's, so wait4 reports at least the parent's RSS at spawn time.
    VmHWM is this process's own since exec; RUSAGE_CHILDREN is the largest child it reaped."""
    import resource

    with open("/proc/self/status") as f:
        own = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) // 1024


def child_main(spec_path: str) -> int:
    """Child process: run one method as the spec says and write (seconds, end rows, note) as JSON."""
    spec = json.loads(Path(spec_path).read_text())
    seconds, end_rows, detail = RUNNERS[spec["workload"], spec["method"]](spec)
    Path(spec["result"]).write_text(json.dumps({"seconds": seconds, "end_rows": end_rows, "detail": detail,
                                                "rss_mib": peak_rss_mib()}))
    return 0


# ── the parent: one server, a database per method run, interleaved runs ────────

def admin(dsn: str, statement, *args) -> None:
    conn = connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement, *args)
    conn.close()


def run_method(base_dsn: str, n: int, spec: dict, rundir: Path) -> Run | str:
    """Run one method in a child process, in a fresh database; the Run, or the error's last lines."""
    import psycopg2.extensions
    from psycopg2 import sql

    db = f"bench_peers_{os.getpid()}_{n}"
    admin(base_dsn, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    rundir.mkdir(parents=True)
    spec = {**spec, "dsn": psycopg2.extensions.make_dsn(base_dsn, dbname=db), "workdir": str(rundir),
            "result": str(rundir / "result.json")}
    (rundir / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", "DLT_DATA_DIR": str(rundir / "dlt_data"),
           "PYTHONWARNINGS": "ignore"}
    if spec["method"] in TUNED:
        env.update({"NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION": "true", "DATA_WRITER__DISABLE_COMPRESSION": "true"})
    try:
        with open(rundir / "output.log", "wb") as log:
            proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(rundir / "spec.json")],
                                    env=env, cwd=rundir, stdout=log, stderr=subprocess.STDOUT)
            _, status, _ = os.wait4(proc.pid, 0)  # its ru_maxrss would include this process's: see peak_rss_mib
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            tail = (rundir / "output.log").read_text(errors="replace").strip().splitlines()[-6:]
            return f"exit {proc.returncode}: " + "\n    ".join(tail)
        result = json.loads((rundir / "result.json").read_text())
        return Run(result["seconds"], result["end_rows"], result["rss_mib"], result["detail"])
    finally:
        admin(base_dsn, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        shutil.rmtree(rundir, ignore_errors=True)


def versions(dsn: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        server = cur.fetchone()[0]
    conn.close()
    found = []
    for name in ("luigi", "dlt", "pandas", "pyarrow"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} missing")
    return f"PostgreSQL {server}, " + ", ".join(found)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), metavar="[WORKLOAD:]N,N",
                    help="content GA4 rows / activity lines per day (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=3, help="runs of every method, interleaved (default 3)")
    ap.add_argument("--dsn", default="", help="a SCRATCH server (its user must be allowed to CREATE DATABASE)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child)
    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as exc:
        ap.error(str(exc))
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    import importlib.util

    missing = [m for m in ("dlt", "pandas") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: {' and '.join(missing)} not installed: run `make bench-peers` (pip install -e '.[bench]')",
              file=sys.stderr)
        return 2

    from workflows import warehouse

    workdir = Path(tempfile.mkdtemp(prefix="bench_peers_"))
    os.chmod(workdir, 0o755)  # when run as root, pgserver runs postgres as another user
    atexit.register(shutil.rmtree, workdir, True)  # registered first: runs after pgserver's stop
    base_dsn = args.dsn or warehouse.embedded_dsn(workdir / "pgdata")
    print(f"{versions(base_dsn)}; CPUs {os.cpu_count()}, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
          f"; {args.runs} run(s) of every method, interleaved; seconds = the median run", flush=True)
    if args.runs < 3:
        print("note: fewer than 3 runs: a smoke run, not a measurement", flush=True)

    n, failures, issue_rows = 0, 0, []
    rss: dict[str, dict[int, list[Summary]]] = {w: {} for w in sizes}
    for workload in sizes:
        for size in sizes[workload]:
            folder = workdir / f"{workload}_{size}"
            t0 = time.perf_counter()
            day = prepare(workload, size, folder)
            print(f"\n{workload} {size:,}: generated {day.rows:,} data lines and the floor's clean CSVs "
                  f"({day.floor_rows:,} valid rows) in {time.perf_counter() - t0:.1f}s (untimed)", flush=True)
            spec = {"workload": workload, "size": size, "folder": str(day.folder), "floor": day.floor}
            runs: dict[str, list[Run]] = {m: [] for m in METHODS[workload]}
            failed: list[str] = []
            for r in range(1, args.runs + 1):
                line = []
                for method in METHODS[workload]:
                    if method in failed:
                        continue
                    n += 1
                    outcome = run_method(base_dsn, n, {**spec, "method": method}, workdir / f"run_{n}")
                    if isinstance(outcome, str):
                        print(f"  FAIL: {LABELS[method]}, run {r}: {outcome}", flush=True)
                        failed.append(method)
                        failures += 1
                        continue
                    runs[method].append(outcome)
                    line.append(f"{LABELS[method]} {outcome.seconds:.2f}s")
                print(f"  run {r}: " + ", ".join(line), flush=True)
            for method in failed:
                runs[method] = []
            summaries = summarize(day.rows, runs)
            unit = "GA4 rows" if workload == "content" else "lines"
            print("\n" + format_table(f"{workload} day, {size:,} {unit} ({day.rows:,} data lines read):",
                                      day.rows, summaries, failed), flush=True)
            label = (f"content day, {size:,} GA4 rows ({day.rows:,} GA4+GAM lines), landing CSV → refreshed daily_summary"
                     if workload == "content" else
                     f"activity day, {day.rows:,} JSONL lines (half events, half API logs), landing → marts + exports")
            issue_rows.append(issue_row(label, summaries))
            rss[workload][size] = summaries
            shutil.rmtree(folder, ignore_errors=True)
    print("\n| workload | this project | peers, best first | plain COPY floor |\n|---|---|---|---|")
    print("\n".join(issue_rows))
    for workload, by_size in rss.items():
        print("\n" + rss_table(workload, by_size))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
