"""Incremental database sources that miss nothing (issue 15, docs/incremental.md), on the library
pipeline and its generated application database, real embedded PostgreSQL.

A five-day scenario with inserts, updates, hard deletes (the generator's and the test's own), a row
committed after its day was extracted (inside the one-day look-back) and rows with a NULL watermark.
After each day the warehouse is compared, table by table, with a model kept here: the rows the source
holds (read with plain SQL) minus the NULL-watermark rows no full load has seen, and the deleted keys
flagged. Nothing of the pipeline's code computes the expectation.
"""
from __future__ import annotations

import contextlib
import datetime as dt

import luigi
import psycopg2
import pytest
from psycopg2.extensions import parse_dsn

from tests.conftest import luigi_settings
from workflows import RangeDaily, RunAll
from workflows.demo import library_app
from workflows.tasks.mart import Mart
from workflows.tasks.stage import Stage

DAYS = [dt.date(2026, 11, 17) + dt.timedelta(days=n) for n in range(5)]
TABLES = {"members": "member_id", "books": "book_id", "rents": "rent_id"}
COLUMNS = {
    "members": ["member_id", "full_name", "email", "city", "joined_at", "is_active", "updated_at"],
    "books": ["book_id", "isbn", "title", "author", "published_year", "stock", "updated_at"],
    "rents": ["rent_id", "member_id", "book_id", "rented_at", "due_at", "returned_at", "updated_at"],
}
UTC = dt.timezone.utc


def query(dsn: str, statement: str, params=None) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def at(day: dt.date, hours: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(hours=hours)


def run(tasks) -> None:
    result = luigi.build(tasks, local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text


def marts(ds: dt.date) -> list:
    return [Mart(date=ds, pipeline="library", mart=m) for m in TABLES]


def stages(ds: dt.date) -> list:
    return [Stage(date=ds, pipeline="library", entity=e) for e in TABLES]


class Scenario:
    """The source's days (the generator's changes plus the test's own) and the model of what the
    warehouse must hold after each day."""

    def __init__(self, warehouse_dsn: str):
        self.warehouse = warehouse_dsn
        self.source = psycopg2.extensions.make_dsn(warehouse_dsn, dbname=f"{parse_dsn(warehouse_dsn)['dbname']}_library_app")
        self.null_seen: dict[str, set] = {t: set() for t in TABLES}   # NULL-watermark keys a full load saw
        self.live_keys: dict[str, set] = {t: set() for t in TABLES}   # keys the model holds live
        self.deleted: dict[str, set] = {t: set() for t in TABLES}     # keys the model holds flagged
        self.full_days: set[dt.date] = set()

    def source_rows(self, table: str) -> dict:
        cols = COLUMNS[table]
        return {r[0]: r for r in query(self.source, f"SELECT {', '.join(cols)} FROM public.{table}")}

    def advance(self, ds: dt.date) -> None:
        """Bring the source to day ds and apply the test's own changes of that day (before its extract)."""
        library_app.ensure(self.warehouse, 7, 1, ds)
        s = self.source
        if ds == DAYS[0]:  # rows without a watermark exist before the first (full) load
            for table in TABLES:
                query(s, f"ALTER TABLE public.{table} ALTER COLUMN updated_at DROP NOT NULL")
            query(s, "INSERT INTO public.members VALUES (901, 'Null Watermark', 'nw@example.org', 'Faro', %s, true, NULL)",
                  (at(ds, -100),))
        if ds == DAYS[1]:
            query(s, "UPDATE public.members SET city = 'Évora', updated_at = %s WHERE member_id = 2", (at(ds, 8),))
            query(s, "INSERT INTO public.members VALUES (902, 'To Be Deleted', 'tbd@example.org', 'Porto', %s, true, %s)",
                  (at(ds, 8), at(ds, 8)))
            query(s, "INSERT INTO public.books VALUES (903, '9990000000903', 'Short Lived', 'F. Pessoa', 2001, 2, %s)",
                  (at(ds, 8),))
        if ds == DAYS[2]:
            # committed today, stamped yesterday (after yesterday's extract): inside the look-back
            query(s, "INSERT INTO public.rents VALUES (904, 3, 4, %s, %s, NULL, %s)",
                  (at(ds, -0.5), at(ds, 13.5 * 24), at(ds, -0.5)))
            # a row without a watermark after the full load: skipped by the incremental loads, counted
            query(s, "INSERT INTO public.members VALUES (905, 'Late Null', 'ln@example.org', 'Braga', %s, true, NULL)",
                  (at(ds, 9),))
        if ds == DAYS[3]:
            query(s, "DELETE FROM public.members WHERE member_id = 902")
            query(s, "DELETE FROM public.books WHERE book_id = 903")
            query(s, "UPDATE public.books SET stock = stock + 5, updated_at = %s WHERE book_id = 5", (at(ds, 12),))

    def expect(self, ds: dt.date, full: bool) -> dict:
        """The model after day ds's extract: live rows and flagged keys per table."""
        expected = {}
        for table in TABLES:
            rows = self.source_rows(table)
            if full:
                self.null_seen[table] |= {k for k, r in rows.items() if r[-1] is None}
            live = {k: r for k, r in rows.items() if r[-1] is not None or k in self.null_seen[table]}
            self.deleted[table] |= self.live_keys[table] - set(rows)
            self.live_keys[table] = set(live)
            expected[table] = (live, set(self.deleted[table]))
        return expected

    def warehouse_state(self) -> dict:
        state = {}
        for table, key in TABLES.items():
            cols = COLUMNS[table]
            live = {r[0]: r for r in query(self.warehouse, f"SELECT {', '.join(cols)} FROM library.{table} "
                                                           "WHERE deleted_at IS NULL")}
            flagged = {r[0] for r in query(self.warehouse, f"SELECT {key} FROM library.{table} "
                                                           "WHERE deleted_at IS NOT NULL")}
            state[table] = (live, flagged)
        return state


def assert_equal(actual: dict, expected: dict, ds) -> None:
    for table in TABLES:
        live, flagged = actual[table]
        want_live, want_flagged = expected[table]
        assert set(live) == set(want_live), (ds, table, set(live) ^ set(want_live))
        assert live == want_live, (ds, table)
        assert flagged == want_flagged, (ds, table)


def day_settings(ds: dt.date) -> dict:
    return {"library": {"full_refresh": "true"}} if ds == DAYS[4] else {}


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_five_days_in_date_order_then_rerun_equal_the_model(env):
    sc = Scenario(env.dsn)
    for ds in DAYS:
        sc.advance(ds)
        with luigi_settings(day_settings(ds)):
            run(marts(ds))
        expected = sc.expect(ds, full=ds in (DAYS[0], DAYS[4]))
        assert_equal(sc.warehouse_state(), expected, ds)
    # what the scenario exercised really happened
    assert sc.deleted["rents"] and sc.deleted["members"] == {902} and sc.deleted["books"] == {903}
    assert 904 in sc.live_keys["rents"] and 901 in sc.live_keys["members"] and 905 in sc.live_keys["members"]
    loads = dict(((e, d), (m, r, n)) for e, d, m, r, n in env.query(
        "SELECT entity, ds, mode, reason, null_watermarks_skipped FROM etl.source_loads WHERE pipeline = 'library'"))
    assert loads[("members", DAYS[0])] == ("full", "initial", 0)
    # an incremental window cannot see NULL watermarks: 901 (landed by the full load) and 905 (not), said so
    assert loads[("members", DAYS[1])] == ("incremental", "incremental", 1)
    assert loads[("members", DAYS[2])] == ("incremental", "incremental", 2)
    assert loads[("members", DAYS[3])] == ("incremental", "incremental", 2)
    assert loads[("members", DAYS[4])] == ("full", "full_refresh", 0)
    warned = env.query("SELECT DISTINCT ds, status FROM etl.dq_results WHERE check_name = 'no_null_watermarks_skipped' "
                       "AND pipeline = 'library' AND entity = 'members' ORDER BY ds")
    assert [(d, s) for d, s in warned if d in (DAYS[2], DAYS[3])] == [(DAYS[2], "warn"), (DAYS[3], "warn")]

    # re-run every day's Load and Mart, newest first: nothing changes
    final = sc.warehouse_state()
    env.query("DELETE FROM etl.partition_markers WHERE target LIKE '%/library/%'")
    env.query("DELETE FROM etl.dq_decisions WHERE pipeline = 'library'")
    for ds in reversed(DAYS):
        run(marts(ds))
    assert sc.warehouse_state() == final


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_five_days_extracted_as_they_happen_loaded_out_of_order_equal_the_model(env):
    sc = Scenario(env.dsn)
    expected = None
    for ds in DAYS:  # each day is extracted on its day, after its changes ...
        sc.advance(ds)
        with luigi_settings(day_settings(ds)):
            run(stages(ds))
        expected = sc.expect(ds, full=ds in (DAYS[0], DAYS[4]))
    for ds in (DAYS[0], DAYS[3], DAYS[1], DAYS[4], DAYS[2]):  # ... and published in another order
        run(marts(ds))
    assert_equal(sc.warehouse_state(), expected, "out of order")
