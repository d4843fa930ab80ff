"""library end to end: a generated application database -> lake (local, or moto S3 over HTTP) ->
staging partitions -> MERGE into library.members / books / rents. The warehouse is compared with
the source database, table by table, with SQL written here."""
from __future__ import annotations

import contextlib
import datetime as dt
import json

import luigi
import psycopg2
import pytest
from psycopg2.extensions import parse_dsn

from tests.conftest import luigi_settings
from workflows.tasks.mart import Mart
from workflows.pipelines import library
from workflows.landing import SourceError, database
from workflows.tasks.stage import Stage

DAYS = [dt.date(2026, 11, 17) + dt.timedelta(days=n) for n in range(4)]
TABLES = {"members": "public.members", "books": "public.books", "rents": "public.rents"}


def query(dsn: str, statement: str, params=None) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def build(ds: dt.date) -> luigi.execution_summary.LuigiRunResult:
    result = luigi.build([Mart(date=ds, pipeline="library", mart=m) for m in TABLES], local_scheduler=True,
                         detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def source_dsn(env) -> str:
    return psycopg2.extensions.make_dsn(env.dsn, dbname=f"{parse_dsn(env.dsn)['dbname']}_library_app")


def columns(dsn: str, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in query(dsn, "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                                     "AND table_name = %s ORDER BY ordinal_position", (schema, name))]


def rows(dsn: str, table: str, cols: list[str], where: str = "true", params=None) -> list[tuple]:
    return query(dsn, f"SELECT {', '.join(cols)} FROM {table} WHERE {where} ORDER BY {', '.join(cols)}", params)


def assert_mirrors(env, source: str) -> None:
    for name, table in TABLES.items():
        cols = columns(source, table)
        assert rows(env.dsn, f"library.{name}", cols, "deleted_at IS NULL") == rows(source, table, cols), name


def test_full_load_then_incremental_days_mirror_the_source(env):
    source = source_dsn(env)
    for ds in DAYS:
        build(ds)
        assert_mirrors(env, source)
        end = dt.datetime.combine(ds + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        # incremental days read [ds - 1, ds + 1): the default look-back of one day
        start = (dt.datetime.combine(ds - dt.timedelta(days=1), dt.time(), dt.timezone.utc) if ds != DAYS[0]
                 else dt.datetime.min.replace(tzinfo=dt.timezone.utc))
        for name, table in TABLES.items():
            cols = columns(source, table)
            changed = rows(source, table, cols, "updated_at >= %s AND updated_at < %s", (start, end))
            assert rows(env.dsn, f"staging.library_{name}", cols, "ds = %s", (ds,)) == changed, (ds, name)
            meta = json.loads(env.read_lake(f"raw/library/{name}/ds={ds}/{name}.csv.meta.json"))
            assert (meta["mode"], meta["record_count"]) == ("full" if ds == DAYS[0] else "incremental", len(changed))
        if ds != DAYS[0]:  # the day's updates arrived, not only inserts
            day = dt.datetime.combine(ds, dt.time(), dt.timezone.utc)
            returned = query(source, "SELECT count(*) FROM public.rents WHERE returned_at >= %s AND returned_at < %s "
                                     "AND rented_at < %s", (day, end, day))[0][0]
            restocked = query(source, "SELECT count(*) FROM public.books WHERE updated_at >= %s AND updated_at < %s "
                                      "AND book_id < 100000", (start, end))[0][0]
            assert returned > 0 and restocked > 0

    # re-running a day (every Load and Mart again) changes nothing
    snapshot = {n: query(env.dsn, f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM library.{n} t")
                for n in TABLES}
    query(env.dsn, "DELETE FROM etl.partition_markers WHERE ds = %s RETURNING 1", (DAYS[1],))
    assert "Mart(" in build(DAYS[1]).summary_text
    assert {n: query(env.dsn, f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM library.{n} t")
            for n in TABLES} == snapshot
    assert_mirrors(env, source)


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_days_landed_in_order_but_loaded_out_of_order_converge_to_the_source(env):
    source = source_dsn(env)
    for ds in DAYS:  # each day is landed on its day (nothing loaded yet: every extract is a full one) ...
        result = luigi.build([Stage(date=ds, pipeline="library", entity=e) for e in TABLES], local_scheduler=True,
                             detailed_summary=True, workers=1)
        assert result.status.name == "SUCCESS", result.summary_text
    # ... so the older days' files hold older versions of rows that later days changed
    assert query(source, "SELECT count(*) FROM public.rents WHERE rented_at < %s AND updated_at >= %s",
                 (DAYS[1], DAYS[2]))[0][0] > 0
    # ... and loaded out of order (after the full load the first extract claimed: the incremental days
    # reference members and books only it holds, and the mart checks would rightly hold them back)
    for ds in (DAYS[0], DAYS[3], DAYS[1], DAYS[2]):
        build(ds)
    assert_mirrors(env, source)
    # the first day extracted claimed the full load (etl.source_loads); the others were incremental
    assert [json.loads(env.read_lake(f"raw/library/rents/ds={ds}/rents.csv.meta.json"))["mode"] for ds in DAYS] == [
        "full", "incremental", "incremental", "incremental"]


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_full_refresh_setting_lands_every_table_whole(env):
    source = source_dsn(env)
    build(DAYS[0])
    with luigi_settings({"library": {"full_refresh": "true"}}):
        build(DAYS[1])
    assert_mirrors(env, source)
    for name, table in TABLES.items():
        meta = json.loads(env.read_lake(f"raw/library/{name}/ds={DAYS[1]}/{name}.csv.meta.json"))
        everything = query(source, f"SELECT count(*) FROM {table} WHERE updated_at < %s", (DAYS[2],))[0][0]
        assert (meta["mode"], meta["record_count"]) == ("full", everything)


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_unreachable_source_fails_clearly_and_lands_nothing(env):
    bad = psycopg2.extensions.make_dsn(env.dsn, dbname="no_such_library_db", password="s3cret-pw")
    with luigi_settings({"library": {"source_dsn": bad}}):
        result = luigi.build([Mart(date=DAYS[0], pipeline="library", mart="members")], local_scheduler=True,
                             detailed_summary=True, workers=1)
        assert result.status.name == "FAILED"
        with pytest.raises(SourceError) as error:
            database.land_table(bad, library.PIPELINE.entities["members"], DAYS[0], "/dev/null", "updated_at", True)
    assert "cannot connect to the source database of public.members" in str(error.value)
    assert "no_such_library_db" in str(error.value) and "s3cret-pw" not in str(error.value)
    with pytest.raises(FileNotFoundError):
        env.read_lake(f"raw/library/members/ds={DAYS[0]}/members.csv")
    assert not query(env.dsn, "SELECT 1 FROM etl.partition_markers")
