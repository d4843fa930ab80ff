"""The package's data files: ``schemas/`` (JSON Schemas, check declarations) and ``sql/`` (DDL, marts).

Found through the installed package (importlib.resources), so a wheel or the Docker image
works the same as a checkout.
"""
from __future__ import annotations

from importlib import resources

PACKAGE = resources.files("workflows")
SCHEMAS = PACKAGE / "schemas"
SQL = PACKAGE / "sql"


def read_sql(relpath: str) -> str:
    """Text of a file under sql/ (e.g. ``fakestore/mart_fact_sales.sql``)."""
    path = SQL.joinpath(relpath)
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: sql/{relpath}")
    return path.read_text(encoding="utf-8")


def ddl_texts() -> list[str]:
    """Every sql/ddl/*.sql file's text, in file-name order."""
    files = sorted((p for p in SQL.joinpath("ddl").iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [p.read_text(encoding="utf-8") for p in files]
