"""The package's data files: ``schemas/`` (JSON Schemas, check declarations) and ``sql/`` (DDL, marts).

Found through the installed package (importlib.resources), so a wheel or the Docker image
works the same as a checkout.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PACKAGE = resources.files("workflows")
SCHEMAS = PACKAGE / "schemas"
SQL = PACKAGE / "sql"


def resource(folder, relpath: str):
    """A data file: ``relpath`` under the package's ``folder``, or an absolute path (a pipeline
    declared outside this package keeps its own schemas and SQL)."""
    return Path(relpath) if os.path.isabs(relpath) else folder.joinpath(relpath)


def read_sql(relpath: str) -> str:
    """Text of a file under sql/ (e.g. ``fakestore/mart_fact_sales.sql``), or at an absolute path."""
    path = resource(SQL, relpath)
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: sql/{relpath}")
    return path.read_text(encoding="utf-8")


def ddl_texts() -> list[str]:
    """Every sql/ddl/*.sql file's text, in file-name order."""
    files = sorted((p for p in SQL.joinpath("ddl").iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [p.read_text(encoding="utf-8") for p in files]
