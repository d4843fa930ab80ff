"""Warehouse connections: a configured DSN, or the embedded PostgreSQL (pgserver) started on demand.

The schema is created idempotently from ``sql/ddl/*.sql`` (in file-name order)
the first time a process connects to a warehouse whose ``etl.schema_versions`` does
not hold the hash of those files, under an advisory lock so that concurrent workers
do not race on CREATE.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Iterator

import psycopg2
import psycopg2.extensions

from workflows.config import warehouse as warehouse_config
from workflows.resources import ddl_texts, read_sql  # noqa: F401 - read_sql: the tasks' SQL files

log = logging.getLogger("luigi-interface")

_MIGRATION_LOCK = 4242_0001
_migrated: set[str] = set()
_shared: dict[tuple[int, str], psycopg2.extensions.connection] = {}


def embedded_dsn(pgdata: str | os.PathLike) -> str:
    """Start (or attach to) the embedded PostgreSQL in ``pgdata`` and return its URI (see workflows.embedded_pg)."""
    from workflows import embedded_pg  # lazily: `python -m workflows.embedded_pg` must not find it imported

    return embedded_pg.start(pgdata)


def dsn() -> str:
    cfg = warehouse_config()
    return cfg.dsn.strip() or embedded_dsn(cfg.pgdata)


def _ddl() -> tuple[str, list[str]]:
    """(sha256 of all DDL files, their texts in file-name order)."""
    texts = ddl_texts()
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest(), texts


def _applied(cur, ddl_hash: str) -> bool:
    cur.execute("SELECT to_regclass('etl.schema_versions') IS NOT NULL")
    if not cur.fetchone()[0]:
        return False
    cur.execute("SELECT 1 FROM etl.schema_versions WHERE ddl_hash = %s", (ddl_hash,))
    return cur.fetchone() is not None


def migrate(conn: psycopg2.extensions.connection) -> None:
    """Apply every sql/ddl/*.sql file (each idempotent: IF NOT EXISTS / OR REPLACE), unless this
    exact set of files was already applied (a hash in etl.schema_versions): one query per process."""
    ddl_hash, texts = _ddl()
    with conn, conn.cursor() as cur:
        if _applied(cur, ddl_hash):
            return
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        if _applied(cur, ddl_hash):  # another process applied it while we waited
            return
        for text in texts:
            cur.execute(text)
        cur.execute("CREATE TABLE IF NOT EXISTS etl.schema_versions "
                    "(ddl_hash text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        cur.execute("INSERT INTO etl.schema_versions (ddl_hash) VALUES (%s) ON CONFLICT DO NOTHING", (ddl_hash,))


def _raw_connect(target_dsn: str) -> psycopg2.extensions.connection:
    try:
        return psycopg2.connect(target_dsn, application_name="luigi-warehouse")
    except psycopg2.OperationalError as exc:
        raise RuntimeError(f"cannot connect to the warehouse ([warehouse] dsn): {exc}".strip()) from None


def connect() -> psycopg2.extensions.connection:
    """A new connection to a migrated warehouse (caller closes it)."""
    target = dsn()
    conn = _raw_connect(target)
    if target not in _migrated:
        migrate(conn)
        _migrated.add(target)
    return conn


@contextlib.contextmanager
def transaction() -> Iterator[psycopg2.extensions.cursor]:
    """One transaction on a fresh connection: commit on success, roll back on error."""
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def shared() -> psycopg2.extensions.connection:
    """A per-process autocommit connection for short reads (completeness checks)."""
    target = dsn()
    key = (os.getpid(), target)
    conn = _shared.get(key)
    if conn is None or conn.closed:
        conn = connect()
        conn.autocommit = True
        _shared[key] = conn
    return conn


def reset() -> None:
    """Forget cached connections and migration state (tests switch warehouses)."""
    for conn in _shared.values():
        with contextlib.suppress(Exception):
            conn.close()
    _shared.clear()
    _migrated.clear()
