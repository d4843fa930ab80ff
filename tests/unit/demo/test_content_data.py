"""The generated content drops: deterministic per (seed, ds), and they carry every defect the issue asks for.

Only the drop's public shape is assumed (``write_drop(folder, seed, ds, ga4_rows)``); the properties
are read back from the CSV text with the tests' own model (tests/integration/test_content_oracle.py).
"""
import datetime as dt
from collections import Counter, defaultdict

import pytest

from tests.integration.test_content_oracle import cms_row, ga4_row, gam_row, records
from workflows.demo.content_data import write_drop

D0, D1, D2 = dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)
ROWS = 10_000  # enough for ads on every article, including those that never get events


@pytest.fixture(scope="module")
def drops(tmp_path_factory):
    """{ds: {entity: (line, fields) records}} for three consecutive days."""
    folder = tmp_path_factory.mktemp("drops")
    out = {}
    for ds in (D0, D1, D2):
        out[ds] = {e: records(p.read_text()) for e, p in write_drop(folder, 7, ds, ROWS).items()}
    return out


def test_deterministic_per_seed_and_ds(tmp_path):
    def read(folder, seed, ds):
        return {e: p.read_bytes() for e, p in write_drop(tmp_path / folder, seed, ds, 300).items()}

    same = read("a", 7, D2)
    assert same == read("b", 7, D2)
    assert all(same[e] != other for e, other in read("c", 7, D1).items())
    assert same["ga4_events"] != read("d", 8, D2)["ga4_events"]


def test_ga4_duplicates_late_rows_shared_sessions_and_malformed_lines(drops):
    rows = [ga4_row(f) for _, f in drops[D2]["ga4_events"]]
    valid = [r for r in rows if r is not None]
    assert len(rows) - len(valid) > 0  # malformed lines
    assert len(valid) >= ROWS * 0.9
    assert any(n > 1 for n in Counter(valid).values())  # exact duplicates inside the file
    yesterday = {ga4_row(f) for _, f in drops[D1]["ga4_events"]} - {None}
    assert set(valid) & yesterday  # rows delivered again by the next file
    lateness = Counter((D2 - r[0].date()).days for r in valid)
    assert set(lateness) <= {0, 1, 2, 3} and lateness[0] > 0 and lateness[1] > 0 and lateness[2] + lateness[3] > 0
    users_per_session = defaultdict(set)
    for r in valid:
        users_per_session[r[3]].add(r[2])
    assert any(len(u) > 1 for u in users_per_session.values())  # session ids are only unique per user


def test_gam_corrections_duplicates_and_malformed_lines(drops):
    def versions(ds):
        out = defaultdict(list)
        for _, f in drops[ds]["gam_delivery"]:
            parsed = gam_row(f)
            if parsed is not None:
                out[parsed[0]].append(parsed[1])
        return out

    today, yesterday = versions(D2), versions(D1)
    assert len(drops[D2]["gam_delivery"]) > sum(map(len, today.values()))  # malformed lines
    corrected = [k for k in today if k in yesterday and set(today[k]) != set(yesterday[k])]
    assert corrected and all(k[0].date() < D2 for k in corrected)  # same business key, new numbers, later file
    assert any(len(v) > 1 for v in today.values())  # duplicates within the file
    assert all(clicks <= impressions for v in today.values() for _, impressions, clicks, _ in v)


def test_cms_title_changes_and_content_coverage(drops):
    def snapshot(ds):
        parsed = [cms_row(f) for _, f in drops[ds]["cms_articles"]]
        return parsed, dict(p for p in parsed if p)

    parsed, today = snapshot(D2)
    _, before = snapshot(D1)
    assert len(parsed) > len(today)  # a malformed or repeated article line
    assert any(today[c][1] != before[c][1] for c in today.keys() & before.keys())  # titles change
    events = {r[4] for r in (ga4_row(f) for _, f in drops[D2]["ga4_events"]) if r}
    ads = {p[0][4] for p in (gam_row(f) for _, f in drops[D2]["gam_delivery"]) if p}
    assert ads - events and events - ads  # both sides of the daily summary's FULL OUTER JOIN have work
