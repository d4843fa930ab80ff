"""Base classes of the generic, date-partitioned tasks."""
from __future__ import annotations

import logging

import luigi

from workflows import pipelines
from workflows.declarations import Entity, Pipeline

log = logging.getLogger("luigi-interface")


class PipelineTask(luigi.Task):
    """A task for one pipeline and one ds."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")
    pipeline = luigi.Parameter(description="Pipeline name, e.g. fakestore")

    @property
    def decl(self) -> Pipeline:
        return pipelines.get(self.pipeline)

    def report(self, message: str, percent: int | None = None) -> None:
        """Status line (and progress) for the visualizer, and the log."""
        log.info("%s: %s", self.task_id, message)
        self.set_status_message(message)
        if percent is not None:
            self.set_progress_percentage(percent)


class EntityTask(PipelineTask):
    """A task for one entity of a pipeline and one ds."""

    entity = luigi.Parameter(description="Entity name within the pipeline, e.g. carts")

    @property
    def entity_decl(self) -> Entity:
        try:
            return self.decl.entities[self.entity]
        except KeyError:
            known = ", ".join(sorted(self.decl.entities))
            raise ValueError(f"pipeline {self.pipeline!r} has no entity {self.entity!r}; known: {known}") from None
