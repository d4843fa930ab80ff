"""The pipeline registry: name -> declaration. A new pipeline is one module and one line here."""
from __future__ import annotations

from workflows.declarations import Pipeline
from workflows.pipelines import fakestore

PIPELINES: dict[str, Pipeline] = {p.name: p for p in (fakestore.PIPELINE,)}


def get(name: str) -> Pipeline:
    try:
        return PIPELINES[name]
    except KeyError:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(sorted(PIPELINES))}") from None
