"""`luigi --module workflows Status --date D [--stop D2]` (and `make status DATE_STATE=D[:D2]`): done / stale
(why) / missing, through the real commands, on a real warehouse after a fakestore day.

The day is made stale three ways — dim_user's markers carry another code version, products' load was
re-materialised after its audit, the KPI report's marker is gone — and the expected state of every
one of the day's 23 targets is written here from the fakestore pipeline's shape (dim_product reads
products; dim_user reads users; fact_sales reads carts, products and both dimensions; the check record
reads every audit and build; the KPI report reads the published marts and the check), not from the
code's graph.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess

import luigi
import pytest

from tests.conftest import REPO, luigi_cli
from workflows import RunAll

pytestmark = pytest.mark.parametrize("env", ["local"], indirect=True)
D1 = dt.date(2026, 11, 20)
ENTITIES = ("carts", "products", "users")
MARTS = ("dim_product", "dim_user", "fact_sales")
P = "fakestore"
TARGETS = ({f"{s}/{P}/{e}" for s in ("extract", "stage", "load", "audit") for e in ENTITIES}
           | {f"{s}/{P}/{m}" for s in ("build", "mart") for m in MARTS}
           | {f"record/{P}", f"check/{P}", "report/dq", "report/kpi", f"pack/{P}"})
EXPECTED = {
    f"build/{P}/dim_user": ("stale", "code changed"),
    f"mart/{P}/dim_user": ("stale", "code changed"),
    f"audit/{P}/products": ("stale", f"input newer: load/{P}/products"),
    "report/kpi": ("missing", "no marker"),
    f"build/{P}/dim_product": ("stale", f"upstream redone: audit/{P}/products"),
    f"mart/{P}/dim_product": ("stale", f"upstream redone: build/{P}/dim_product"),
    f"build/{P}/fact_sales": ("stale", f"upstream redone: audit/{P}/products, build/{P}/dim_product, build/{P}/dim_user"),
    f"mart/{P}/fact_sales": ("stale", f"upstream redone: build/{P}/fact_sales"),
    f"record/{P}": ("stale", f"upstream redone: audit/{P}/products, build/{P}/dim_product, build/{P}/dim_user, "
                             f"build/{P}/fact_sales"),
    f"check/{P}": ("stale", f"upstream redone: record/{P}"),
    "report/dq": ("stale", f"upstream redone: record/{P}"),
    f"pack/{P}": ("stale", f"upstream redone: mart/{P}/dim_product, mart/{P}/dim_user, mart/{P}/fact_sales, "
                           "report/dq, report/kpi"),
}


def rows(stdout: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(ds, target) -> (state, why) from the printed table (after the count line and the header)."""
    out = {}
    for line in stdout.splitlines()[2:]:
        ds, target, state, *why = line.split()
        out[(ds, target)] = (state, " ".join(why))
    return out


def status_task(env, tmp_path, *args: str) -> subprocess.CompletedProcess:
    cfg = (f"[warehouse]\ndsn = {env.dsn}\n[lake]\nroot = {env.lake}\n"
           f'[runall]\npipelines = ["{P}"]\n[cli]\nlog_dir = {tmp_path / "logs"}\n')
    proc = luigi_cli(["Status", *args, "--local-scheduler", "--no-lock"], cfg, tmp_path)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_status_task_lists_done_stale_and_why_and_missing(env, only_fakestore, tmp_path):
    luigi.task_register.Register.clear_instance_cache()
    assert luigi.build([RunAll(date=D1)], local_scheduler=True, workers=1)
    assert {t for t, in env.query("SELECT target FROM etl.partition_markers WHERE ds = %s", (D1,))} == TARGETS
    env.query("UPDATE etl.partition_markers SET code_version = 'older' WHERE ds = %s AND target = ANY(%s) RETURNING 1",
              (D1, [f"build/{P}/dim_user", f"mart/{P}/dim_user"]))
    # (as an older version of dim_user's SQL leaves it: its gate decision was stamped by that code too)
    env.query("UPDATE etl.dq_decisions SET stamp = 'older' WHERE ds = %s AND pipeline = %s AND step = 'mart' "
              "AND scope = 'dim_user' RETURNING 1", (D1, P))
    # products' load re-materialised after its audit read it (a new seq and time, as a marker write gives)
    env.query("UPDATE etl.partition_markers SET seq = nextval('etl.partition_marker_seq'), finished_at = clock_timestamp() "
              "WHERE ds = %s AND target = %s RETURNING 1", (D1, f"load/{P}/products"))
    env.query("DELETE FROM etl.partition_markers WHERE ds = %s AND target = 'report/kpi' RETURNING 1", (D1,))

    d2 = D1 + dt.timedelta(days=1)
    got = status_task(env, tmp_path, "--date", str(D1), "--stop", str(d2 + dt.timedelta(days=1)))
    assert got.returncode == 0, got.stderr[-2000:]
    lines = got.stdout.splitlines()
    assert lines[0] == f"Partitions {D1}:{d2 + dt.timedelta(days=1)}: 11 done, 11 stale, 24 missing", got.stdout
    table = rows(got.stdout)
    assert {t: v for (d, t), v in table.items() if d == str(D1)} == EXPECTED  # done targets are not listed
    assert {t: v for (d, t), v in table.items() if d == str(d2)} == {t: ("missing", "no marker") for t in TARGETS}

    # --all lists the done ones too; `make status DATE_STATE=` prints the same table
    every = rows(status_task(env, tmp_path, "--date", str(D1), "--all").stdout)
    done = TARGETS - set(EXPECTED)
    assert {t for (_, t), (st, _) in every.items() if st == "done"} == done
    assert {t: v for (_, t), v in every.items() if t in EXPECTED} == EXPECTED
    cfg = tmp_path / "make.cfg"
    cfg.write_text(f"[warehouse]\ndsn = {env.dsn}\n[runall]\npipelines = [\"{P}\"]\n")
    made = subprocess.run(["make", "-s", "status", f"DATE_STATE={D1}"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "LUIGI_CONFIG_PATH": str(cfg)}, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    assert rows(made.stdout) == {(str(D1), t): v for t, v in EXPECTED.items()}

    # the next run redoes exactly what Status called stale or missing; then everything is done
    before = dict(env.query("SELECT target, seq FROM etl.partition_markers WHERE ds = %s", (D1,)))
    luigi.task_register.Register.clear_instance_cache()
    assert luigi.build([RunAll(date=D1)], local_scheduler=True, workers=1)
    after = dict(env.query("SELECT target, seq FROM etl.partition_markers WHERE ds = %s", (D1,)))
    assert {t for t in after if before.get(t) != after[t]} == set(EXPECTED)
    again = status_task(env, tmp_path, "--date", str(D1))
    assert again.stdout.splitlines()[0] == f"Partitions {D1}: 23 done, 0 stale, 0 missing"

    bad = status_task(env, tmp_path, "--date", str(D1), "--stop", str(D1))
    assert bad.returncode != 0 and "must be after" in (bad.stdout + bad.stderr)
