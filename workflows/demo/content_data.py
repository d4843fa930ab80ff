"""Generated content drops: ``ga4_events_YYYYMMDD.csv``, ``gam_delivery_YYYYMMDD.csv``, ``cms_articles_YYYYMMDD.csv``.

Deterministic per (seed, ds, ga4_rows) and vectorised with pyarrow (``pc.random`` streams
seeded per (seed, day, chunk, field)), written chunk by chunk: a 1,000,000-row day needs
no more memory than one 65,536-row chunk. Each event day has a fixed population of rows;
a file for ds delivers, of that population:

- GA4: the day's on-time rows (~94 %), late rows of ds-1…ds-3 (~2 % of each of those days),
  rows of ds-1 already delivered yesterday again (exact duplicates across files), some rows
  twice (exact duplicates within the file), and ``malformed`` lines (see ``GA4_DEFECTS``);
- GAM: hourly delivery rows of ds (on time) and late rows of ds-1…ds-2, corrected versions
  of rows delivered yesterday (same business key, new numbers), exact re-sends and
  within-file duplicates, and malformed lines (``GAM_DEFECTS``);
- CMS: a snapshot of every article as of ds; a fifth of the articles get a new title every
  third day (staggered), one article is listed twice and one has a broken publish timestamp.

GA4 ``session_id`` is, as in GA4, the session's start time in epoch seconds: different users
share it, so distinct sessions are (user_pseudo_id, session_id) pairs. Some content has ads
but no events (``ADS_ONLY``) and some has events but no ads, so the daily summary's FULL
OUTER JOIN has work on both sides.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import random
from pathlib import Path
from typing import BinaryIO, Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

GA4_FIELDS = ("event_timestamp", "event_name", "user_pseudo_id", "session_id", "content_id", "page_location",
              "engagement_time_msec", "device_category", "country")
GAM_FIELDS = ("served_at", "site", "ad_unit", "line_item", "creative", "content_id", "impressions", "clicks",
              "revenue_usd")
CMS_FIELDS = ("content_id", "site", "title", "author", "section", "publish_timestamp")
FIELDS = {"ga4_events": GA4_FIELDS, "gam_delivery": GAM_FIELDS, "cms_articles": CMS_FIELDS}

CHUNK = 65_536
FIRST_CONTENT_ID = 100_001
ADS_ONLY = 3  # the last articles get ads but never events
SITES = ("news.example.com", "sport.example.com", "life.example.com")
SECTIONS = ("politics", "business", "tech", "culture", "football", "travel")
AUTHORS = ("A. Rivera", "B. Chen", "C. Okafor", "D. Novak", "E. Haddad", "F. Larsen", "G. Silva")
WORDS = ("Budget", "Vote", "Storm", "Market", "Chip", "Festival", "Derby", "Transfer", "Rail", "Harbour",
         "Startup", "Museum")
EVENTS = ("page_view",) * 10 + ("user_engagement",) * 5 + ("scroll",) * 3 + ("click",) * 2
DEVICES = ("mobile",) * 11 + ("desktop",) * 7 + ("tablet",) * 2
COUNTRIES = ("US",) * 6 + ("GB",) * 3 + ("DE", "FR", "IN", "BR", "CA", "NL", "ES", "IT", "SE", "JP", "AU") + (None,)
AD_UNITS = ("/2231/article/top", "/2231/article/inline_1", "/2231/article/inline_2", "/2231/article/sidebar",
            "/2231/article/sticky_footer")
GA4_DEFECTS = ("truncated", "extra_field", "timestamp_not_iso", "impossible_date", "unknown_event",
               "session_not_integer", "missing_content_id", "unbalanced_quote", "negative_engagement")
GAM_DEFECTS = ("decimal_comma", "impressions_not_integer", "missing_clicks", "timestamp_not_iso",
               "missing_ad_unit", "truncated")


def file_name(entity: str, ds: dt.date) -> str:
    """Landing file name of an entity's drop, e.g. ``ga4_events_20261120.csv``."""
    return f"{entity}_{ds:%Y%m%d}.csv"


def article_count(ga4_rows: int) -> int:
    return max(40, ga4_rows // 2000)


def gam_rows(ga4_rows: int) -> int:
    """GAM delivery rows per served day: one per (hour, article, slot), ~1 per 10 GA4 events."""
    return max(48, ga4_rows // 10)


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big") >> 1


def _random(n: int, *parts: object) -> pa.Array:
    """n uniform doubles in [0, 1), the same for the same ``parts``."""
    return pc.random(n, initializer=_seed(*parts))


def _int(values: pa.Array) -> pa.Array:
    return pc.cast(pc.floor(values), pa.int64())


def _text(values: pa.Array) -> pa.Array:
    return pc.cast(values, pa.string())


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _iso(day: dt.date, micros: pa.Array) -> pa.Array:
    """'YYYY-MM-DDTHH:MM:SS.ffffffZ' for ``day`` midnight UTC plus ``micros``."""
    start = pa.scalar(dt.datetime.combine(day, dt.time()), pa.timestamp("us"))
    stamps = pc.add(start, pc.cast(micros, pa.duration("us")))
    return _join(pc.replace_substring(_text(stamps), " ", "T"), "Z")


# ── articles ────────────────────────────────────────────────────────────────────

def articles(seed: int, ga4_rows: int, ds: dt.date) -> list[dict]:
    """Every article as of ``ds`` (titles change over time for a fifth of them)."""
    out = []
    for k in range(article_count(ga4_rows)):
        r = random.Random(_seed(seed, "article", k))
        headline = f"{r.choice(WORDS)} {r.choice(('talks', 'plan', 'row', 'surprise', 'record'))} in {r.choice(WORDS).lower()}"
        if k % 9 == 4:
            headline = f'Why "{headline}" matters, again'  # quotes and a comma: CSV quoting has work
        revision = (ds.toordinal() + k) // 3 if k % 5 == 0 else 0
        title = f"{headline} (update {revision})" if revision else headline
        published = dt.datetime(2025, 1, 1) + dt.timedelta(days=r.randrange(300), seconds=r.randrange(86400))
        out.append({
            "content_id": FIRST_CONTENT_ID + k,
            "site": SITES[k % len(SITES)],
            "title": title,
            "author": r.choice(AUTHORS),
            "section": SECTIONS[r.randrange(len(SECTIONS))],
            "publish_timestamp": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    return out


def write_cms(out: BinaryIO, seed: int, ga4_rows: int, ds: dt.date) -> None:
    rows = articles(seed, ga4_rows, ds)
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(CMS_FIELDS)
    r = random.Random(_seed(seed, "cms-defects", ds))
    twice, broken = r.sample(range(len(rows)), 2)
    for i, a in enumerate(rows):
        if i == broken:
            a = {**a, "publish_timestamp": f"{ds:%d/%m/%Y}"}
        w.writerow([a[f] for f in CMS_FIELDS])
        if i == twice:
            w.writerow([a[f] for f in CMS_FIELDS])  # the same article listed twice
    out.write(text.getvalue().encode())


# ── GA4 events ──────────────────────────────────────────────────────────────────

def _ga4_day_chunk(seed: int, ga4_rows: int, day: dt.date, chunk: int) -> tuple[pa.Table, dict[str, pa.Array]]:
    """Rows [chunk*CHUNK, …) of event day ``day``'s population, and the draws that pick them."""
    n = min(CHUNK, ga4_rows - chunk * CHUNK)
    draw = {f: _random(n, seed, "ga4", day, chunk, f) for f in
            ("late", "dup", "time", "user", "session", "content", "event", "engage", "device", "country")}
    n_articles = article_count(ga4_rows) - ADS_ONLY
    n_users = max(20, ga4_rows // 8)
    user = _int(pc.multiply(draw["user"], n_users))
    content = _int(pc.multiply(pc.multiply(draw["content"], draw["content"]), n_articles))  # popular articles first
    day_epoch = int(dt.datetime.combine(day, dt.time(), dt.timezone.utc).timestamp())
    urls = pa.array([f"https://{SITES[k % len(SITES)]}/a/{FIRST_CONTENT_ID + k}" for k in range(n_articles)])
    event = pc.take(pa.array(EVENTS), _int(pc.multiply(draw["event"], len(EVENTS))))
    engaged = pc.equal(event, "user_engagement")
    table = pa.table({
        "event_timestamp": _iso(day, _int(pc.multiply(draw["time"], 86_400_000_000))),
        "event_name": event,
        "user_pseudo_id": _join(_text(pc.add(pc.multiply(user, 7919), 1_000_000_000)), ".",
                                _text(pc.add(user, 1_700_000_000))),
        "session_id": _text(pc.add(pc.multiply(_int(pc.multiply(draw["session"], 3)), 3600), day_epoch)),
        "content_id": _text(pc.add(content, FIRST_CONTENT_ID)),
        "page_location": pc.take(urls, content),
        "engagement_time_msec": pc.if_else(engaged, _text(_int(pc.multiply(draw["engage"], 60_000))),
                                           pa.scalar(None, pa.string())),
        "device_category": pc.take(pa.array(DEVICES), _int(pc.multiply(draw["device"], len(DEVICES)))),
        "country": pc.take(pa.array(COUNTRIES, pa.string()), _int(pc.multiply(draw["country"], len(COUNTRIES)))),
    })
    # lateness: 0 for ~94 %, else 1, 2 or 3 days
    late = pc.if_else(pc.less(draw["late"], 0.94), 0,
                      pc.add(_int(pc.divide(pc.subtract(draw["late"], 0.94), 0.02)), 1))
    return table, {"late": pc.min_element_wise(late, 3), "dup": draw["dup"]}


def _ga4_chunk(seed: int, ga4_rows: int, ds: dt.date, chunk: int) -> pa.Table:
    """What file ``ds`` delivers of chunk ``chunk`` of the event days ds-3…ds."""
    parts = []
    for back in range(4):
        table, d = _ga4_day_chunk(seed, ga4_rows, ds - dt.timedelta(days=back), chunk)
        parts.append(table.filter(pc.equal(d["late"], back)))
        if back == 0:  # within the file: some rows twice
            parts.append(table.filter(pc.and_(pc.equal(d["late"], 0), pc.less(d["dup"], 0.004))))
        if back == 1:  # across files: yesterday's rows sent again
            parts.append(table.filter(pc.and_(pc.equal(d["late"], 0), pc.greater(d["dup"], 0.995))))
    return pa.concat_tables(parts)


def _ga4_defect(kind: str, ds: dt.date, i: int) -> str:
    at = f"{ds}T{i % 24:02d}:{i % 60:02d}:07.000001Z"
    base = [at, "page_view", f"1000001234.{1700000000 + i}", "1763596800", str(FIRST_CONTENT_ID + i % 7),
            f"https://news.example.com/a/{FIRST_CONTENT_ID + i % 7}", "", "mobile", "US"]
    if kind == "truncated":
        return ",".join(base[:4])
    if kind == "extra_field":
        return ",".join(base + ["surplus"])
    if kind == "timestamp_not_iso":
        base[0] = f"{ds:%d/%m/%Y} 10:{i % 60:02d}"
    elif kind == "impossible_date":
        base[0] = f"{ds.year}-02-30T10:00:00Z"
    elif kind == "unknown_event":
        base[1] = "purchase"
    elif kind == "session_not_integer":
        base[3] = "abc"
    elif kind == "missing_content_id":
        base[4] = ""
    elif kind == "unbalanced_quote":
        base[5] = '"https://news.example.com/a/"broken'
    elif kind == "negative_engagement":
        base[1], base[6] = "user_engagement", "-5"
    return ",".join(base)


def _write_ga4(out: BinaryIO, seed: int, ga4_rows: int, ds: dt.date) -> None:
    out.write((",".join(GA4_FIELDS) + "\n").encode())
    chunks = max(1, -(-ga4_rows // CHUNK))
    n_defects = max(len(GA4_DEFECTS), ga4_rows // 25_000)
    defects = [_ga4_defect(GA4_DEFECTS[i % len(GA4_DEFECTS)], ds, i) for i in range(n_defects)]
    for c in range(chunks):
        _write_with_defects(out, _ga4_chunk(seed, ga4_rows, ds, c), defects[c::chunks], _seed(seed, "ga4-pos", ds, c))


# ── GAM delivery ────────────────────────────────────────────────────────────────

def _gam_numbers(impressions: pa.Array, ctr_draw: pa.Array, cpm_draw: pa.Array) -> dict[str, pa.Array]:
    clicks = _int(pc.multiply(pc.multiply(impressions, ctr_draw), 0.03))
    micros = _int(pc.multiply(impressions, pc.add(pc.multiply(cpm_draw, 4500), 500)))  # CPM 0.5–5 USD
    dollars = _text(pc.cast(pc.divide(micros, 1_000_000), pa.int64()))
    cents = pc.utf8_lpad(_text(pc.subtract(micros, pc.multiply(pc.divide(micros, 1_000_000), 1_000_000))), 6, "0")
    return {"impressions": _text(impressions), "clicks": _text(clicks), "revenue_usd": _join(dollars, ".", cents)}


def _gam_day(seed: int, ga4_rows: int, day: dt.date, start: int, n: int) -> tuple[pa.Table, dict[str, pa.Array]]:
    """Rows [start, start+n) of served day ``day``'s delivery, and the draws that pick them."""
    draw = {f: _random(n, seed, "gam", day, start, f) for f in ("late", "dup", "imp", "ctr", "cpm", "fix", "fix_imp")}
    eligible = pa.array([k for k in range(article_count(ga4_rows)) if k % 11 != 5])  # some articles carry no ads
    j = pa.array(range(start, start + n), pa.int64())
    hour = pc.subtract(j, pc.multiply(pc.divide(j, 24), 24))
    pair = pc.divide(j, 24)
    k = pc.take(eligible, pc.subtract(pair, pc.multiply(pc.divide(pair, len(eligible)), len(eligible))))
    slot = pc.divide(pair, len(eligible))
    impressions = _int(pc.multiply(draw["imp"], 2000))
    table = pa.table({
        "served_at": _iso(day, pc.multiply(hour, 3_600_000_000)),
        "site": pc.take(pa.array(SITES), pc.subtract(k, pc.multiply(pc.divide(k, 3), 3))),
        "ad_unit": pc.take(pa.array(AD_UNITS), pc.subtract(pc.add(slot, k), pc.multiply(pc.divide(pc.add(slot, k), 5), 5))),
        "line_item": _text(pc.add(pc.multiply(slot, 31), 5_000_000)),
        "creative": _text(pc.add(pc.add(pc.multiply(slot, 100_000), k), 700_000_000)),
        "content_id": _text(pc.add(k, FIRST_CONTENT_ID)),
        **_gam_numbers(impressions, draw["ctr"], draw["cpm"]),
    })
    corrected = table.drop_columns(["impressions", "clicks", "revenue_usd"])
    fixed_impressions = pc.add(impressions, pc.add(_int(pc.multiply(draw["fix_imp"], 50)), 1))
    for name, values in _gam_numbers(fixed_impressions, draw["ctr"], draw["cpm"]).items():
        corrected = corrected.append_column(name, values)
    late = pc.if_else(pc.less(draw["late"], 0.92), 0, pc.add(_int(pc.divide(pc.subtract(draw["late"], 0.92), 0.04)), 1))
    return table, {"late": pc.min_element_wise(late, 2), "dup": draw["dup"], "fix": draw["fix"], "corrected": corrected}


def _gam_chunk(seed: int, ga4_rows: int, ds: dt.date, start: int, n: int) -> pa.Table:
    parts = []
    for back in range(3):
        table, d = _gam_day(seed, ga4_rows, ds - dt.timedelta(days=back), start, n)
        on_time = pc.equal(d["late"], 0)
        parts.append(table.filter(pc.equal(d["late"], back)))
        if back == 0:  # within the file: some rows twice
            parts.append(table.filter(pc.and_(on_time, pc.less(d["dup"], 0.01))))
        if back == 1:  # yesterday's rows: some corrected (same key, new numbers), some sent again unchanged
            fix = pc.and_(on_time, pc.less(d["fix"], 0.03))
            parts.append(d["corrected"].filter(fix))
            parts.append(table.filter(pc.and_(pc.and_(on_time, pc.invert(fix)), pc.greater(d["dup"], 0.99))))
    return pa.concat_tables(parts)


def _gam_defect(kind: str, ds: dt.date, i: int) -> str:
    base = [f"{ds}T{i % 24:02d}:00:00Z", "news.example.com", AD_UNITS[i % len(AD_UNITS)], "5999999",
            str(799_000_000 + i), str(FIRST_CONTENT_ID + i % 5), "120", "3", "0.420000"]
    if kind == "decimal_comma":
        base[8] = "0,42"  # unquoted: one field too many
    elif kind == "impressions_not_integer":
        base[6] = "n/a"
    elif kind == "missing_clicks":
        base[7] = ""
    elif kind == "timestamp_not_iso":
        base[0] = f"{ds:%m/%d/%Y} {i % 24}:00"
    elif kind == "missing_ad_unit":
        base[2] = ""
    elif kind == "truncated":
        return ",".join(base[:5])
    return ",".join(base)


def _write_gam(out: BinaryIO, seed: int, ga4_rows: int, ds: dt.date) -> None:
    out.write((",".join(GAM_FIELDS) + "\n").encode())
    total = gam_rows(ga4_rows)
    starts = list(range(0, total, CHUNK))
    n_defects = max(len(GAM_DEFECTS), total // 20_000)
    defects = [_gam_defect(GAM_DEFECTS[i % len(GAM_DEFECTS)], ds, i) for i in range(n_defects)]
    for c, start in enumerate(starts):
        chunk = _gam_chunk(seed, ga4_rows, ds, start, min(CHUNK, total - start))
        _write_with_defects(out, chunk, defects[c::len(starts)], _seed(seed, "gam-pos", ds, c))


# ── files ───────────────────────────────────────────────────────────────────────

def _write_with_defects(out: BinaryIO, table: pa.Table, defects: list[str], seed: int) -> None:
    """The table's rows as CSV, with each defect line inserted at a seeded position."""
    r = random.Random(seed)
    cuts = sorted(r.randrange(table.num_rows + 1) for _ in defects)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    at = 0
    for cut, line in zip(cuts, defects):
        if cut > at:
            pacsv.write_csv(table.slice(at, cut - at), out, options)
        out.write(line.encode() + b"\n")
        at = cut
    if table.num_rows > at:
        pacsv.write_csv(table.slice(at), out, options)


WRITERS: dict[str, Callable[[BinaryIO, int, int, dt.date], None]] = {
    "ga4_events": _write_ga4, "gam_delivery": _write_gam, "cms_articles": write_cms,
}


def write_file(entity: str, folder: str | os.PathLike, seed: int, ds: dt.date, ga4_rows: int) -> Path:
    """Write one entity's drop for ds into ``folder`` (atomically) and return its path."""
    path = Path(folder) / file_name(entity, ds)
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(tmp), "wb") as out:
        WRITERS[entity](out, seed, ga4_rows, ds)
    os.replace(tmp, path)
    return path


def write_drop(folder: str | os.PathLike, seed: int, ds: dt.date, ga4_rows: int) -> dict[str, Path]:
    """The whole day's drop (all three files) in ``folder``."""
    return {entity: write_file(entity, folder, seed, ds, ga4_rows) for entity in WRITERS}
