"""The visualizer's graph names pipeline and entity or mart: a real luigid on 127.0.0.1, one day of the
fakestore pipeline run against it with the real `luigi` command, then luigid's /api/graph read back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2

from tests.conftest import free_port, luigi_cli, wait_http
from workflows import pipelines

D = "2026-11-20"



def api(port: int, method: str, **data) -> dict:
    query = urllib.parse.quote(json.dumps(data))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/{method}?data={query}", timeout=10) as resp:
        return json.load(resp)["response"]


def test_graph_nodes_name_pipeline_and_entity_or_mart(pg_dsn, tmp_path):
    port = free_port()
    (tmp_path / "luigid").mkdir()
    cfg = tmp_path / "luigid.cfg"
    cfg.write_text(f"[scheduler]\nstate_path = {tmp_path / 'luigid/state.pickle'}\n")
    luigid = subprocess.Popen([Path(sys.executable).parent / "luigid", "--address", "127.0.0.1", "--port", str(port),
                               "--logdir", str(tmp_path / "luigid")], env={**os.environ, "LUIGI_CONFIG_PATH": str(cfg)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/graph")
        run = luigi_cli(["RunAll", "--date", D, "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)],
                        f"[warehouse]\ndsn = {pg_dsn}\n[lake]\nroot = {tmp_path / 'lake'}\n"
                        '[runall]\npipelines = ["fakestore"]\n', tmp_path)
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]
        graph = api(port, "graph")
        listed = api(port, "task_list", status="DONE", upstream_status="", search="")
    finally:
        luigid.terminate()
        luigid.wait(timeout=30)

    decl = pipelines.PIPELINES["fakestore"]
    expected = ({f"fakestore.{e}.{step}" for e in decl.entities for step in ("Extract", "Stage", "Load", "Audit")}
                | {f"fakestore.{m}.{step}" for m in decl.marts for step in ("MartBuild", "Mart")}
                | {"fakestore.Record", "fakestore.Check", "fakestore.Pack", "DQReport", "KPIReport", "RunAll"})
    assert {node["name"] for node in graph.values()} == expected
    assert {task["name"] for task in listed.values()} == expected  # the task list groups them by pipeline
    for task_id, node in graph.items():
        params = node["params"]
        scope = params.get("entity") or params.get("mart")
        if "pipeline" in params:
            assert node["name"].startswith(f"{params['pipeline']}.{scope + '.' if scope else ''}"), (task_id, node)
        assert node["status"] == "DONE", (task_id, node["status"])

    # task ids, the run log and the markers keep the task's own family: the command line names them so
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT task_id, task_family FROM etl.task_runs WHERE ds = %s", (D,))
        runs = cur.fetchall()
        cur.execute("SELECT DISTINCT task_family FROM etl.partition_markers WHERE ds = %s", (D,))
        marker_families = {r[0] for r in cur.fetchall()}
    assert {family for _, family in runs} == {"Extract", "Stage", "Load", "Audit", "MartBuild", "Mart", "Record",
                                               "Check", "Pack", "DQReport", "KPIReport"}
    assert all(task_id.startswith(f"{family}_") for task_id, family in runs)
    assert {task_id for task_id, _ in runs} <= set(graph)  # the same tasks, the same ids
    assert marker_families <= {family for _, family in runs}
