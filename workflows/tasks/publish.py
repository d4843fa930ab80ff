"""What a pipeline publishes for one ds: every entity's Load, every mart, its views and its export."""
from __future__ import annotations

import datetime as dt

import luigi

from workflows.declarations import Pipeline
from workflows.tasks.export import Export
from workflows.tasks.load import Load
from workflows.tasks.mart import Mart
from workflows.tasks.refresh import Refresh


def published(pipeline: Pipeline, ds: dt.date) -> list[luigi.Task]:
    """The tasks whose outputs make up the pipeline's day (each has a partition marker)."""
    tasks: list[luigi.Task] = [Load(date=ds, pipeline=pipeline.name, entity=e) for e in pipeline.entities]
    tasks += [Mart(date=ds, pipeline=pipeline.name, mart=m) for m in pipeline.marts]
    tasks += [Refresh(date=ds, pipeline=pipeline.name, view=v.name) for v in pipeline.views]
    if pipeline.exports:
        tasks.append(Export(date=ds, pipeline=pipeline.name))
    return tasks
