"""The pipeline registry: name -> declaration. A new pipeline is one module and one line here."""
from __future__ import annotations

from workflows.config import runall
from workflows.declarations import Pipeline
from workflows.pipelines import activity, bikes, content, fakestore, library

PIPELINES: dict[str, Pipeline] = {
    p.name: p for p in (fakestore.PIPELINE, content.PIPELINE, activity.PIPELINE, bikes.PIPELINE, library.PIPELINE)
}


def get(name: str) -> Pipeline:
    try:
        return PIPELINES[name]
    except KeyError:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(sorted(PIPELINES))}") from None


def enabled() -> list[Pipeline]:
    """The pipelines RunAll covers: ``[runall] pipelines``, or every registered one."""
    names = list(runall().pipelines) or list(PIPELINES)
    return [get(name) for name in names]
