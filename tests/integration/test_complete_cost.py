"""A task's complete() on a real fakestore day: right answers, and a bounded number of queries.

Everything upstream of a task is read from one freshness query of the day's graph, reused while the
day's markers are the same: so asking the deliverables pack (which depends on all 22 other targets)
costs a handful of queries, not one per ancestor, and a marker deleted or edited by hand is seen at
the next call. Tasks are found by their marker target; expected answers come from the pipeline's
shape (carts' stage reads products' stage; every mart and the pack read further down).
"""
from __future__ import annotations

import datetime as dt

import luigi
import psycopg2.extensions
import pytest

from workflows import RunAll, warehouse
from workflows.tasks.runall import graph

pytestmark = pytest.mark.parametrize("env", ["local"], indirect=True)
D1 = dt.date(2026, 11, 20)


class Counting(psycopg2.extensions.cursor):
    calls = 0

    def execute(self, *args, **kwargs):
        Counting.calls += 1
        return super().execute(*args, **kwargs)


def tasks() -> dict[str, luigi.Task]:
    luigi.task_register.Register.clear_instance_cache()
    return graph(RunAll(date=D1).requires())[0]


def queries(task: luigi.Task) -> tuple[bool, int]:
    conn = warehouse.shared()
    saved, conn.cursor_factory = conn.cursor_factory, Counting
    Counting.calls = 0
    try:
        return task.complete(), Counting.calls
    finally:
        conn.cursor_factory = saved


def test_complete_reads_upstream_from_the_day_graph_in_a_few_queries(env, only_fakestore):
    luigi.task_register.Register.clear_instance_cache()
    assert luigi.build([RunAll(date=D1)], local_scheduler=True, workers=1)
    t = tasks()
    assert len(t) == 23
    done, first = queries(t["pack/fakestore"])
    assert done and first <= 4, first  # its own marker, the digest, the day's freshness (once)
    done, again = queries(t["pack/fakestore"])
    assert done and again <= 2, again  # own marker and the digest: the day's markers did not change

    # a marker deleted by hand: what depends on it is incomplete at the next call, the rest is not
    env.query("DELETE FROM etl.partition_markers WHERE ds = %s AND target = 'stage/fakestore/products' RETURNING 1",
              (D1,))
    t = tasks()
    for target in ("stage/fakestore/carts", "load/fakestore/carts", "load/fakestore/products",
                   "mart/fakestore/fact_sales", "pack/fakestore"):
        assert queries(t[target])[0] is False, target
    for target in ("stage/fakestore/users", "load/fakestore/users", "audit/fakestore/users", "extract/fakestore/products"):
        assert queries(t[target])[0] is True, target
    # a marker edited by hand (another code version; no new seq): its readers see it at once
    env.query("UPDATE etl.partition_markers SET code_version = 'older' WHERE ds = %s AND target = 'load/fakestore/users' "
              "RETURNING 1", (D1,))
    t = tasks()
    assert queries(t["audit/fakestore/users"])[0] is False
    assert queries(t["stage/fakestore/users"])[0] is True
    # and the next run repairs both: everything is complete again
    luigi.task_register.Register.clear_instance_cache()
    assert luigi.build([RunAll(date=D1)], local_scheduler=True, workers=1)
    t = tasks()
    assert all(queries(task)[0] for task in t.values())
