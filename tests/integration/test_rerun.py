"""Rerun and staleness (issue 14), on the fakestore pipeline: real embedded PostgreSQL, a real lake, the
in-process FakeStore server. What was redone is read from the markers' sequence numbers (each marker
write takes a new one), and expected sets are written here from the pipeline's shape, not from the
code's graph."""
from __future__ import annotations

import datetime as dt

import luigi
import pytest

from workflows import Rerun, RunAll

D1 = dt.date(2026, 11, 20)
pytestmark = pytest.mark.parametrize("env", ["local"], indirect=True)
LOADS = {f"{step}/fakestore/{e}" for step in ("extract", "stage", "load") for e in ("carts", "products", "users")}


def build(*tasks):
    luigi.task_register.Register.clear_instance_cache()
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, workers=1)
    assert result.status.name == "SUCCESS", result.summary_text
    return result


def seqs(env) -> dict[str, int]:
    return dict(env.query("SELECT target, seq FROM etl.partition_markers WHERE ds = %s", (D1,)))


def snapshot(env) -> tuple:
    """Every marker (all columns) and every fakestore mart and staging table, as text: any change shows."""
    tables = ["etl.partition_markers", "mart.fact_sales", "mart.dim_product", "mart.dim_user",
              "staging.fakestore_carts", "staging.fakestore_products", "staging.fakestore_users"]
    return tuple(env.query(f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x")[0]
                 for t in tables)


def redone(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {t for t in after if before.get(t) != after[t]}


def test_dry_run_changes_nothing(env, only_fakestore, capsys):
    build(RunAll(date=D1))
    before = snapshot(env)
    build(Rerun(date=D1, pipeline="fakestore", dry_run=True))
    assert snapshot(env) == before
    out = capsys.readouterr().out
    assert "would redo" in out and "mart/fakestore/fact_sales" in out


def test_rerun_of_one_mart_redoes_it_and_what_reads_it_only(env, only_fakestore):
    build(RunAll(date=D1))
    facts = env.query("SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM mart.fact_sales x")
    before = seqs(env)
    build(Rerun(date=D1, pipeline="fakestore", mart="fact_sales"))
    after = seqs(env)
    changed = redone(before, after)
    assert {"mart/fakestore/fact_sales"} <= changed
    # nothing upstream and no sibling mart was redone
    untouched = LOADS | {t for t in before if t.endswith(("/dim_product", "/dim_user"))}
    assert not (changed & untouched), changed & untouched
    # the same inputs give the same mart, and the day is complete again
    assert env.query("SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM mart.fact_sales x") == facts
    luigi.task_register.Register.clear_instance_cache()
    assert RunAll(date=D1).complete()


def test_a_rebuilt_load_makes_exactly_its_readers_stale(env, only_fakestore):
    build(RunAll(date=D1))
    before = seqs(env)
    build(Rerun(date=D1, pipeline="fakestore", entity="products", **{"from": "load"}))
    changed = redone(before, seqs(env))
    assert "load/fakestore/products" in changed
    # products is read by dim_product and fact_sales; carts' and users' loads are not redone, nor dim_user
    assert {"mart/fakestore/dim_product", "mart/fakestore/fact_sales"} <= changed
    assert not changed & {"extract/fakestore/products", "stage/fakestore/products", "load/fakestore/carts",
                          "load/fakestore/users", "mart/fakestore/dim_user"}


def test_a_mart_made_by_other_code_is_stale_and_only_it_and_its_readers_rerun(env, only_fakestore):
    build(RunAll(date=D1))
    # as if dim_user had been built by an older version of its SQL: its markers' versions and its gate stamp
    env.query("UPDATE etl.partition_markers SET code_version = 'older' WHERE ds = %s AND target LIKE %s",
              (D1, "%/fakestore/dim_user"))
    env.query("UPDATE etl.dq_decisions SET stamp = 'older' WHERE ds = %s AND pipeline = 'fakestore' AND step = 'mart' "
              "AND scope = 'dim_user'", (D1,))
    luigi.task_register.Register.clear_instance_cache()
    assert not RunAll(date=D1).complete()
    before = seqs(env)
    build(RunAll(date=D1))
    changed = redone(before, seqs(env))
    # fact_sales' checks read mart.dim_user (a relationship check), so it is redone too; dim_product is not
    assert {"mart/fakestore/dim_user", "mart/fakestore/fact_sales"} <= changed
    assert not changed & (LOADS | {"mart/fakestore/dim_product", "build/fakestore/dim_product"})
