"""An independent model of the content pipeline, in plain Python, that the content tests compare against.

It reads the raw CSV files as received (with its own tokenizer: an unquoted empty field is NULL,
a quoted one is ''), applies the source contract as the issue states it, and recomputes the three
marts from scratch over every file given. It shares no code with ``workflows/``. The tests at the
bottom pin the model itself on hand-made inputs.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

UTC = dt.timezone.utc
TS = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$")
INT = re.compile(r"^-?[0-9]+$")
MONEY = re.compile(r"^-?[0-9]+(\.[0-9]{1,6})?$")
EVENT_NAMES = {"page_view", "user_engagement", "scroll", "click"}
DEVICES = {"desktop", "mobile", "tablet", None}
SIX = Decimal("0.000001")


def fields(line: str) -> list[str | None]:
    """One CSV line's fields: "…" quoted (doubled quotes escape), unquoted empty = None.

    Lenient like most readers (Python's csv, pyarrow): text after a closing quote joins the field."""
    out: list[str | None] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            parts, j = [], i + 1
            while True:
                k = line.index('"', j)
                parts.append(line[j:k])
                if k + 1 < n and line[k + 1] == '"':
                    parts.append('"')
                    j = k + 2
                    continue
                i = line.find(",", k + 1)
                i = n if i < 0 else i
                parts.append(line[k + 1:i])
                break
            out.append("".join(parts))
        else:
            k = line.find(",", i)
            k = n if k < 0 else k
            out.append(line[i:k] or None)
            i = k
        if i >= n:
            return out
        i += 1


def records(text: str) -> list[tuple[int, list[str | None]]]:
    """(line number, fields) of every non-blank line after the header."""
    lines = text.splitlines()
    return [(no, fields(line)) for no, line in enumerate(lines[1:], start=2) if line.strip()]


# ── the contract, per field ───────────────────────────────────────────────────
def ts(v):
    if v is None or not TS.match(v):
        raise ValueError(v)
    return dt.datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC)


def integer(v, minimum):
    if v is None or not INT.match(v) or int(v) < minimum:
        raise ValueError(v)
    return int(v)


def required_text(v, min_length=1):
    if v is None or len(v) < min_length:
        raise ValueError(v)
    return v


def ga4_row(f):
    """The typed event, or None if the line breaks the contract."""
    if len(f) != 9:
        return None
    try:
        event_at, name, user, session, content, location, engaged, device, country = f
        if name not in EVENT_NAMES or device not in DEVICES or (country is not None and len(country) > 64):
            return None
        return (ts(event_at), name, required_text(user), integer(session, 1), integer(content, 1), location,
                None if engaged is None else integer(engaged, 0), device, country)
    except ValueError:
        return None


def gam_row(f):
    """(business key, (site, impressions, clicks, revenue)), or None if the line breaks the contract."""
    if len(f) != 9:
        return None
    try:
        served_at, site, unit, item, creative, content, impressions, clicks, revenue = f
        if revenue is None or not MONEY.match(revenue) or Decimal(revenue) < 0:
            return None
        key = (ts(served_at), required_text(unit), required_text(item), required_text(creative), integer(content, 1))
        return key, (site, integer(impressions, 0), integer(clicks, 0), Decimal(revenue))
    except ValueError:
        return None


def cms_row(f):
    """(content_id, (site, title, author, section, published_at)), or None."""
    if len(f) != 6:
        return None
    try:
        content, site, title, author, section, published = f
        return integer(content, 1), (required_text(site), required_text(title), author, section,
                                     None if published is None else ts(published))
    except ValueError:
        return None


# ── from scratch ─────────────────────────────────────────────────────────────
class Expected:
    """Marts recomputed from ``files``: {ds: {"ga4_events": text, "gam_delivery": text, "cms_articles": text}}."""

    def __init__(self, files: dict[dt.date, dict[str, str]]):
        self.first_file: dict[tuple, dt.date] = {}  # event -> the earliest file that holds it
        self.rejected: dict[tuple[dt.date, str], set[int]] = defaultdict(set)
        self.file_versions: dict[tuple, tuple] = {}  # (business key, ds) -> values of the file's last such line
        versions: dict[tuple, tuple[dt.date, tuple]] = {}
        self.articles: dict[int, tuple] = {}
        for ds in sorted(files):
            for no, f in records(files[ds]["ga4_events"]):
                row = ga4_row(f)
                if row is None:
                    self.rejected[ds, "ga4_events"].add(no)
                else:
                    self.first_file.setdefault(row, ds)
            last_line: dict[tuple, int] = {}
            for no, f in records(files[ds]["gam_delivery"]):
                parsed = gam_row(f)
                if parsed is None:
                    self.rejected[ds, "gam_delivery"].add(no)
                else:  # later lines of the file, then later files, overwrite
                    if parsed[0] in last_line:  # an earlier line of the same key in this file: superseded
                        self.rejected[ds, "gam_delivery"].add(last_line[parsed[0]])
                    last_line[parsed[0]] = no
                    versions[parsed[0]] = (ds, parsed[1])
                    self.file_versions[parsed[0] + (ds,)] = parsed[1]
            seen = set()
            for no, f in records(files[ds]["cms_articles"]):
                parsed = cms_row(f)
                if parsed is None or parsed[0] in seen:
                    self.rejected[ds, "cms_articles"].add(no)
                else:
                    seen.add(parsed[0])
                    self.articles[parsed[0]] = parsed[1]
        self.versions = versions
        self.events = set(self.first_file)

    def article_daily_metrics(self) -> dict[tuple, tuple]:
        groups = defaultdict(list)
        for e in self.events:
            groups[e[0].date(), e[4]].append(e)
        out = {}
        for (day, content), evs in groups.items():
            site, title, author, section, published = self.articles.get(content, (None,) * 5)
            out[day, content] = (
                site, title, author, section, published,
                sum(e[1] == "page_view" for e in evs),
                len({(e[2], e[3]) for e in evs}),
                len({e[2] for e in evs}),
                sum(e[1] != "page_view" for e in evs),
                sum(e[6] or 0 for e in evs),
            )
        return out

    def ad_daily_revenue(self) -> dict[tuple, tuple]:
        sums = defaultdict(lambda: [0, 0, Decimal(0)])
        for key, (_, (_, impressions, clicks, revenue)) in self.versions.items():
            s = sums[key[0].date(), key[4]]
            s[0] += impressions
            s[1] += clicks
            s[2] += revenue
        return {k: (i, c, r, (Decimal(c) / Decimal(i)).quantize(SIX, ROUND_HALF_UP) if i else None)
                for k, (i, c, r) in sums.items()}

    def daily_summary(self) -> dict[tuple, tuple]:
        articles, ads = self.article_daily_metrics(), self.ad_daily_revenue()
        out = {}
        for key in articles.keys() | ads.keys():
            site, title, _, section, _ = self.articles.get(key[1], (None,) * 5)
            pv, sessions, users, ee, ems = articles[key][5:] if key in articles else (0, 0, 0, 0, 0)
            impressions, clicks, revenue, ctr = ads.get(key, (0, 0, Decimal(0), None))
            rpm = (revenue * 1000 / pv).quantize(SIX, ROUND_HALF_UP) if key in ads and pv else None
            out[key] = (site, title, section, pv, sessions, users, ee, ems, impressions, clicks, revenue, ctr, rpm)
        return out


# ── the model's own tests ─────────────────────────────────────────────────────
def test_tokenizer_keeps_null_apart_from_empty():
    assert fields('a,,"",",","q""x",') == ["a", None, "", ",", 'q"x', None]
    assert fields('"https://x/a/"broken,1') == ["https://x/a/broken", "1"]


def test_model_on_hand_made_files():
    d1, d2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)
    ga4 = "header\n{}\n"
    ev = '2026-11-19T23:00:00Z,page_view,u1,5,1,,,mobile,US'
    gam_head = "served_at,site,ad_unit,line_item,creative,content_id,impressions,clicks,revenue_usd\n"
    key = "2026-11-19T01:00:00Z,s,top,LI,CR,1"
    files = {
        d1: {"ga4_events": ga4.format(ev + "\n" + ev + "\n" + ev.replace("u1", "u2") + "\nbad"),
             "gam_delivery": gam_head + f"{key},100,10,1.000000\n{key},90,9,0.900000\n",
             "cms_articles": "h\n1,s,Old,,news,\n"},
        d2: {"ga4_events": ga4.format(ev + "\n" + ev.replace(",,,", ',"",,')),
             "gam_delivery": gam_head + f"{key},80,8,0.800000\n",
             "cms_articles": "h\n1,s,New,,news,\n1,s,Dup,,news,\n"},
    }
    model = Expected(files)
    # u1 and u2 share session id 5 but are two sessions; the resent event counts once; '' is another event
    assert model.article_daily_metrics() == {(d1, 1): ("s", "New", None, "news", None, 3, 2, 2, 0, 0)}
    assert model.ad_daily_revenue() == {(d1, 1): (80, 8, Decimal("0.8"), Decimal("0.1"))}
    # line 2 of d1's GAM file is restated by line 3: superseded, quarantined
    assert model.rejected == {(d1, "ga4_events"): {5}, (d1, "gam_delivery"): {2}, (d2, "cms_articles"): {3}}
    assert model.daily_summary()[d1, 1][-1] == Decimal("266.666667")  # 0.8 * 1000 / 3
