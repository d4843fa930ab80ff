"""Data-quality checks, the results store and the Excel report, on a real warehouse and lake.

Expected numbers are computed here from the lake files and with independent SQL.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import luigi
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import luigi_settings
from workflows import Check, RunAll
from workflows.quality.run import CheckFailed
from workflows.tasks.audit import Audit

D1 = dt.date(2026, 11, 20)
REPO = Path(__file__).resolve().parents[2]
ENTITIES = ("carts", "products", "users")


pytestmark = pytest.mark.usefixtures("only_fakestore")

def build(*tasks, expect="SUCCESS"):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True)
    assert result.status.name == expect, result.summary_text
    return result


def workbook_bytes(env, ds=D1) -> bytes:
    return env.read_lake(f"reports/dq/ds={ds}/dq_report_{ds}.xlsx")


def latest_run_results(env, ds=D1) -> list[tuple]:
    """(check, entity, status, failing) of the newest evaluation of every entity's audit and every mart's build for ds."""
    return env.query("""
        SELECT check_name, entity, status, failing_count FROM etl.dq_results r
         WHERE r.ds = %s AND run_id IN (SELECT DISTINCT ON (pipeline, step, entity) run_id FROM etl.dq_results x
                                         WHERE x.ds = %s ORDER BY pipeline, step, entity, checked_at DESC, id DESC)
         ORDER BY entity, check_name""", (ds, ds))


def quarantine_counts(data: bytes) -> pd.DataFrame:
    """The Quarantine sheet's count table (an Excel table named QuarantineCounts)."""
    ref = openpyxl.load_workbook(io.BytesIO(data))["Quarantine"].tables["QuarantineCounts"].ref
    first, last = (int("".join(ch for ch in cell if ch.isdigit())) for cell in ref.split(":"))
    return pd.read_excel(io.BytesIO(data), sheet_name="Quarantine", header=first - 1, nrows=last - first)


def lake_counts(env, entity: str) -> dict:
    raw = json.loads(env.read_lake(f"raw/fakestore/{entity}/ds={D1}/{entity}.json"))["records"]
    units = sum(len(r["products"]) for r in raw) if entity == "carts" else len(raw)
    rejects = [json.loads(x) for x in env.read_lake(f"quarantine/fakestore/{entity}/ds={D1}/rejects.jsonl").splitlines() if x]
    staged = pq.read_table(io.BytesIO(env.read_lake(f"staging/fakestore/{entity}/ds={D1}/{entity}.parquet"))).num_rows
    return {"raw": units, "valid": staged, "rejects": rejects}


def test_report_numbers_equal_lake_and_warehouse(env):
    build(RunAll(date=D1))
    data = workbook_bytes(env)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Checks", "Failing samples", "Quarantine", "Reconciliation", "Trend", "About"]

    # Checks sheet (read with pandas) = the latest run in etl.dq_results
    checks = pd.read_excel(io.BytesIO(data), sheet_name="Checks")
    stored = latest_run_results(env)
    assert sorted(zip(checks.check_name, checks.entity, checks.status, checks.failing_count)) == sorted(stored)
    assert "Checks" in wb["Checks"].tables and wb["Checks"].freeze_panes == "A2"

    # Summary counts per status = what the store holds
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=5, max_row=8, values_only=True)}
    assert summary == {s: sum(r[2] == s for r in stored) for s in ("pass", "warn", "fail", "error")}
    shares = {e: len(lake_counts(env, e)["rejects"]) / lake_counts(env, e)["raw"] for e in ENTITIES}
    assert wb["Summary"]["B3"].value == ("WARN" if max(shares.values()) > 0.05 else "PASS")  # the default share gate
    assert wb["Summary"]._charts, "the status bar chart is missing"

    # Row flow on the Reconciliation sheet = counts taken from the lake files and the tables
    flow = pd.read_excel(io.BytesIO(data), sheet_name="Reconciliation")
    flow = flow.iloc[: flow.index[flow.isna().all(axis=1)][0]]  # the row-flow block ends at the first blank row
    flow = flow[flow.pipeline == "fakestore"].set_index("entity")
    for entity in ENTITIES:
        lake = lake_counts(env, entity)
        staging_rows = env.query(f"SELECT count(*) FROM staging.fakestore_{entity} WHERE ds = %s", (D1,))[0][0]
        mart_rows = (env.query("SELECT count(*) FROM mart.fact_sales WHERE ds = %s", (D1,))[0][0]
                     if entity == "carts" else staging_rows)  # dims: every staged row is merged
        row = flow.loc[entity]
        assert (row.raw_records, row.valid_rows, row.quarantined) == (lake["raw"], lake["valid"], len(lake["rejects"]))
        assert (row.staging_rows, row.mart_rows) == (staging_rows, mart_rows)
        assert row["raw − valid − quarantined"] == 0 and row["valid − staging"] == 0

        # Quarantine sheet: counts per rule = the lines of rejects.jsonl
        q = quarantine_counts(data)
        q = q[(q.pipeline == "fakestore") & (q.entity == entity)]
        assert q.groupby("rule").records.sum().to_dict() == dict(Counter(r["rule"] for r in lake["rejects"]))

    # every injected defect is visible with its reason
    reasons = set(quarantine_counts(data).reason)
    for expected in ("$.price: … is not of type 'number'", "$.price: # is less than the minimum of #",
                     "$: 'email' is a required property", "duplicate cart_id, product_id = (#, #): line # wins (the first in the file)",
                     "product_id = # not found in products.product_id for this ds"):
        assert expected in reasons

    # personal fields never reach the workbook
    users = json.loads(env.read_lake(f"raw/fakestore/users/ds={D1}/users.json"))["records"]
    text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    assert not any(u.get("email", "@@") in text or u["phone"] in text for u in users)

    about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True) if r[0]}
    assert about["ds"] == str(D1) and about["run id (fakestore audit carts)"] == env.query(
        "SELECT run_id FROM etl.dq_results WHERE ds = %s AND entity = 'carts' ORDER BY id DESC LIMIT 1", (D1,))[0][0]
    task_runs = {(r[0], r[1]): r[2] for r in wb["About"].iter_rows(values_only=True) if r[0] in ("Mart", "Load", "Extract")}
    logged = env.query("SELECT task_family, pipeline, count(*) FROM etl.task_runs WHERE ds = %s AND status = 'success' "
                       "AND task_family IN ('Mart', 'Load', 'Extract') GROUP BY 1, 2", (D1,))
    assert task_runs == {(f, p): n for f, p, n in logged} == {("Mart", "fakestore"): 3, ("Load", "fakestore"): 3,
                                                              ("Extract", "fakestore"): 3}
    anomaly = env.query("SELECT status, message FROM etl.dq_results WHERE check_type = 'row_count_anomaly' LIMIT 1")
    assert anomaly[0] == ("pass", "insufficient history (0 of 3 earlier partitions)")


@pytest.fixture
def checks_dir(tmp_path):
    target = tmp_path / "schemas"
    shutil.copytree(REPO / "workflows" / "schemas", target)
    return target


def add_check(checks_dir: Path, entity: str, check: dict) -> None:
    path = checks_dir / "fakestore" / f"{entity}.checks.json"
    doc = json.loads(path.read_text())
    doc["checks"].append(check)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_warn_failure_is_recorded_and_the_run_succeeds(env, checks_dir):
    add_check(checks_dir, "carts", {"type": "range", "name": "small_quantities", "column": "quantity", "max": 3,
                                    "severity": "warn", "key": ["cart_id", "product_id"]})
    with luigi_settings({"quality": {"checks_dir": str(checks_dir)}}):
        build(RunAll(date=D1))
    over = env.query("SELECT count(*) FROM staging.fakestore_carts WHERE ds = %s AND quantity > 3", (D1,))[0][0]
    assert over > 0
    assert ("small_quantities", "carts", "warn", over) in latest_run_results(env)
    checks = pd.read_excel(io.BytesIO(workbook_bytes(env)), sheet_name="Checks").set_index("check_name")
    assert checks.loc["small_quantities", "status"] == "warn"
    assert checks.loc["small_quantities", "failing_count"] == over
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(env)))
    assert wb["Summary"]["B3"].value == "WARN"
    samples = [r for r in wb["Failing samples"].iter_rows(min_row=2, values_only=True) if r[2] == "small_quantities"]
    assert len(samples) == min(over, 5)


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_error_failure_fails_check_with_named_message_and_is_reported(env):
    build(RunAll(date=D1))
    # force a duplicated key into staging, then re-run the gate
    env.query("INSERT INTO staging.fakestore_carts SELECT * FROM staging.fakestore_carts WHERE ds = %s LIMIT 1", (D1,))
    env.query("DELETE FROM etl.partition_markers WHERE target IN ('audit/fakestore/carts', 'check/fakestore', 'report/dq')")
    build(RunAll(date=D1), expect="FAILED")
    assert not env.query("SELECT 1 FROM etl.partition_markers WHERE target = 'check/fakestore'")

    with pytest.raises(CheckFailed) as failed:
        Check(date=D1, pipeline="fakestore").run()
    message = str(failed.value)
    rows = env.query("SELECT count(*) FROM staging.fakestore_carts WHERE ds = %s", (D1,))[0][0]
    staged = pq.read_table(io.BytesIO(env.read_lake(f"staging/fakestore/carts/ds={D1}/carts.parquet"))).num_rows
    assert rows == staged + 1
    assert f"carts.unique_cart_id_product_id [unique, fail] on staging.fakestore_carts: observed 2 of {rows} rows failing" in message
    assert "carts.reconciliation_parquet_vs_table" in message and f"parquet {staged}, staging table {rows}" in message

    results = {r[0]: r for r in latest_run_results(env) if r[1] == "carts"}
    assert results["unique_cart_id_product_id"][2:] == ("fail", 2)
    checks = pd.read_excel(io.BytesIO(workbook_bytes(env)), sheet_name="Checks")
    row = checks[(checks.entity == "carts") & (checks.check_name == "unique_cart_id_product_id")].iloc[0]
    assert (row.status, row.failing_count) == ("fail", 2)
    assert openpyxl.load_workbook(io.BytesIO(workbook_bytes(env)))["Summary"]["B3"].value == "FAIL"


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_same_date_twice_gives_the_same_numbers(env):
    def sheets():
        wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(env)))
        out = {}
        for ws in wb:
            rows = [tuple(c for c in r) for r in ws.iter_rows(values_only=True)]
            if ws.title == "Checks":
                rows = [r[:-1] for r in rows]  # run_id column
            if ws.title == "About":  # the run log and run ids legitimately grow with a second run
                first = next(i for i, r in enumerate(rows) if r[0] == "Task runs for this ds (etl.task_runs)")
                last = next(i for i, r in enumerate(rows) if r[0] == "Sheets")
                rows = [r for r in rows[:first] + rows[last:]
                        if r[0] != "generated_at (UTC)" and not str(r[0]).startswith("run id")]
            out[ws.title] = rows
        return out

    build(RunAll(date=D1))
    first = sheets()
    env.query("DELETE FROM etl.partition_markers WHERE ds = %s", (D1,))
    build(RunAll(date=D1))
    runs = env.query("SELECT count(DISTINCT run_id) FROM etl.dq_results WHERE ds = %s", (D1,))[0][0]
    mart_files = len(list((REPO / "workflows" / "sql" / "fakestore").glob("*.checks.json")))
    assert runs == 2 * (len(ENTITIES) + mart_files)  # every audit and mart build evaluated again, appended
    assert sheets() == first


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_row_count_anomaly_uses_trailing_history(env):
    days = [D1 - dt.timedelta(days=i) for i in (3, 2, 1, 0)]
    for day in days:
        build(RunAll(date=day))
    history = [env.query("SELECT count(*) FROM staging.fakestore_carts WHERE ds = %s", (d,))[0][0] for d in days]
    anomaly = "SELECT status, observed, message FROM etl.dq_results WHERE ds = %s AND entity = 'carts' " \
              "AND check_type = 'row_count_anomaly' ORDER BY id DESC LIMIT 1"
    status, observed, message = env.query(anomaly, (D1,))[0]
    mean = sum(history[:3]) / 3
    assert (status, message) == ("pass", None)
    assert observed.startswith(f"{history[3]} rows vs mean {mean:.1f} of 3 days")

    # most of the day's rows vanish: the warn-severity anomaly check flags it, the gate holds
    env.query("DELETE FROM staging.fakestore_carts WHERE ds = %s AND cart_id %% 4 <> 0", (D1,))
    left = env.query("SELECT count(*) FROM staging.fakestore_carts WHERE ds = %s", (D1,))[0][0]
    assert abs(left - mean) / mean > 0.5
    Audit(date=D1, pipeline="fakestore", entity="carts").run()  # the entity's audit again
    with pytest.raises(CheckFailed):  # parquet_vs_table (error severity) fails too: rows went missing
        Check(date=D1, pipeline="fakestore").run()
    status, observed, _ = env.query(anomaly, (D1,))[0]
    assert status == "warn" and observed.startswith(f"{left} rows vs mean {mean:.1f} of 3 days")


class _DriftingApi(BaseHTTPRequestHandler):
    """A FakeStore-compatible API whose products grew a field the contract does not know."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        body = []
        if self.path.startswith("/products"):
            body = [{"id": i, "title": f"p{i}", "price": 10.5, "category": "electronics", "discount": 0.1,
                     "rating": {"rate": 4.0, "count": 1}} for i in (1, 2)]
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.mark.parametrize("env", ["local"], indirect=True)
def test_schema_drift_is_reported_as_warn(env):
    api = ThreadingHTTPServer(("127.0.0.1", 0), _DriftingApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        api_url = f"http://127.0.0.1:{api.server_address[1]}"  # a fixed past ds: allow its snapshot
        with luigi_settings({"fakestore": {"base_url": api_url, "snapshot_max_age_days": "100000"}}):
            build(RunAll(date=D1))
    finally:
        api.shutdown()
    drift = env.query("SELECT status, observed FROM etl.dq_results WHERE ds = %s AND entity = 'products' "
                      "AND check_type = 'schema_drift'", (D1,))
    assert drift == [("warn", "unknown fields: ['discount']; required fields absent: none")]
    assert env.query("SELECT count(*) FROM staging.fakestore_products WHERE ds = %s", (D1,))[0][0] == 2
