"""The compose stack, checked without a Docker engine: the file's structure, that every
command, variable and config path it names exists, and that conf/compose.cfg runs the
pipeline against an S3-protocol server (moto over HTTP) and PostgreSQL over TCP."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import boto3
import psycopg2
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = {line.split("=", 1)[0].lstrip("# ").strip() for line in (REPO / ".env.example").read_text().splitlines()
               if "=" in line}


def test_services_images_and_healthchecks():
    assert {"minio", "createbuckets", "postgres", "luigid", "worker"} <= set(SERVICES)
    assert re.search(r"minio/minio:RELEASE\.\d{4}-", SERVICES["minio"]["image"])  # a pinned release tag
    assert re.search(r"minio/mc:RELEASE\.\d{4}-", SERVICES["createbuckets"]["image"])
    assert SERVICES["postgres"]["image"] == "postgres:18"
    assert "curl" not in str(SERVICES["minio"]["healthcheck"]["test"])
    assert "pg_isready" in str(SERVICES["postgres"]["healthcheck"]["test"])
    for name in ("luigid", "worker"):
        assert SERVICES[name]["build"] == "."
    assert (REPO / "Dockerfile").is_file()
    worker_deps = SERVICES["worker"]["depends_on"]
    assert worker_deps["createbuckets"]["condition"] == "service_completed_successfully"
    assert worker_deps["postgres"]["condition"] == "service_healthy"


def test_ports_bound_to_localhost_only():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert "127.0.0.1:8082:8082" in SERVICES["luigid"]["ports"]


def test_every_variable_and_path_exists():
    text = (REPO / "docker-compose.yml").read_text()
    required = set(re.findall(r"(?<!\$)\$\{(\w+):\?", text))  # $${…} is the shell's, not compose's
    assert required and required <= ENV_EXAMPLE  # every mandatory variable is documented in .env.example
    assert (REPO / ".env") .exists() is False or ".env" in (REPO / ".gitignore").read_text().split()
    for name in ("luigid", "worker"):
        path = SERVICES[name]["environment"]["LUIGI_CONFIG_PATH"]
        assert path.startswith("/app/") and (REPO / path[len("/app/"):]).is_file()
    cfg_lines = [x for x in (REPO / "conf/compose.cfg").read_text().splitlines() if not x.lstrip().startswith("#")]
    cfg_vars = set(re.findall(r"\$\{(\w+)\}", "\n".join(cfg_lines)))
    worker_env = set(SERVICES["worker"]["environment"])
    assert cfg_vars <= worker_env, cfg_vars - worker_env  # the worker can interpolate every ${VAR}
    bucket = re.search(r"root = s3://([\w-]+)", (REPO / "conf/compose.cfg").read_text()).group(1)
    assert f"lake/{bucket}" in " ".join(SERVICES["createbuckets"]["command"])
    worker_cmd = " ".join(SERVICES["worker"]["command"])
    assert "luigi --module workflows RangeDaily --of RunAll" in worker_cmd and "RunAll --date" in worker_cmd
    assert "luigid --address 0.0.0.0 --port 8082" in " ".join(SERVICES["luigid"]["command"])


class TcpToUnix:
    """127.0.0.1:<port> forwarded to the embedded server's Unix socket, so clients speak
    the PostgreSQL protocol over TCP as they do to compose's postgres service."""

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.socket_path)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_compose_cfg_runs_against_s3_and_postgres_over_tcp(pg_server, s3_server, tmp_path):
    db = f"compose_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(pg_server.get_uri())
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{db}"')
    admin.close()
    socket_dir = parse_qs(urlparse(pg_server.get_uri()).query)["host"][0]
    proxy = TcpToUnix(os.path.join(socket_dir, ".s.PGSQL.5432"))
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    if "warehouse-lake" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="warehouse-lake")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(REPO / "conf/compose.cfg"),
           "MINIO_ROOT_USER": "testing", "MINIO_ROOT_PASSWORD": "testing", "S3_ENDPOINT_URL": s3_server,
           "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "", "POSTGRES_HOST": "127.0.0.1",
           "POSTGRES_PORT": str(proxy.port), "POSTGRES_DB": db, "ALERT_WEBHOOK_URL": "",
           "ACTIVITY_PSEUDONYM_KEY": "test-key"}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "luigi", "--module", "workflows", "RunAll", "--date", "2026-11-20",
             "--local-scheduler", "--runall-pipelines", '["fakestore"]'],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        proxy.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="warehouse-lake", Prefix="reports/dq/ds=2026-11-20/")["Contents"]]
    assert keys == ["reports/dq/ds=2026-11-20/dq_report_2026-11-20.xlsx"]
    with psycopg2.connect(pg_server.get_uri(db)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM mart.fact_sales WHERE ds = '2026-11-20'")
        assert cur.fetchone()[0] > 0
