"""Base classes of the generic, date-partitioned tasks."""
from __future__ import annotations

import contextvars
import logging
from typing import Callable

import luigi
from luigi.task import flatten

from targets import PartitionMarker
from targets.markers import ds_version, fresh_upstream
from workflows import pipelines, warehouse
from workflows.declarations import Entity, Mart, Pipeline
from workflows.tasks import versions

log = logging.getLogger("luigi-interface")


def report_status(task: luigi.Task, message: str, percent: int | None = None, **rows: int) -> None:
    """Status line (and progress) for the visualizer, and the log; ``rows`` (in, out,
    quarantined) go to the run log (etl.task_runs). The setters exist only while a worker
    runs the task; a direct ``run()`` (tests, notebooks) just logs."""
    log.info("%s: %s", task.task_id, message)
    if rows:
        task.run_rows = rows
    if callable(getattr(task, "set_status_message", None)):
        task.set_status_message(message)
    if percent is not None and callable(getattr(task, "set_progress_percentage", None)):
        task.set_progress_percentage(percent)


def marker_of(task: luigi.Task) -> PartitionMarker:
    """The partition marker that says ``task`` is done: its output, or (lake steps) its ``marker()``."""
    out = task.output()
    return out if isinstance(out, PartitionMarker) else task.marker()


def input_targets(task: luigi.Task) -> list[str]:
    """The marker targets of the tasks ``task`` requires (the inputs its freshness compares with)."""
    return sorted({marker_of(t).target for t in flatten(task.requires())})


_SEEN: contextvars.ContextVar[dict | None] = contextvars.ContextVar("complete_seen", default=None)

# RunAll's day graph (nodes: target -> code version, edges, targets inputs first), given by
# workflows.tasks.runall (which imports this module) through ``use_day_graph``.
_day_graph: Callable[[], tuple[dict, set, list]] | None = None
_fresh: dict[tuple, tuple[dict, tuple, dict[str, bool]]] = {}
versions.on_clear(_fresh.clear)


def use_day_graph(provider: Callable[[], tuple[dict, set, list]]) -> None:
    """Answer "is everything upstream complete" from RunAll's graph: ``provider()`` gives (nodes, edges, order)."""
    global _day_graph
    _day_graph = provider


def _upstream_from_graph(task: luigi.Task) -> bool | None:
    """Whether every marker ``task`` depends on (transitively) is fresh, from one freshness query over the
    day's graph, reused while the ds's markers are the same (a one-row digest per call); None when the
    task is not a node of RunAll's graph (the tasks' own ``complete`` are asked then)."""
    if _day_graph is None:
        return None
    try:
        marker = marker_of(task)
    except AttributeError:  # a task without a partition marker
        return None
    nodes, edges, order = _day_graph()
    target, ds = marker.target, marker.ds
    if target not in nodes:
        return None
    conn = warehouse.shared()
    key, version = (id(nodes), ds), ds_version(conn, ds)
    cached = _fresh.get(key)
    if cached is None or cached[0] is not nodes or cached[1] != version:
        if len(_fresh) > 64:
            _fresh.clear()
        cached = _fresh[key] = (nodes, version, fresh_upstream(conn, nodes, edges, order, ds))
    return cached[2][target]


def _with_upstream(own):
    def complete(self) -> bool:
        seen, top = _SEEN.get(), None
        if seen is None:
            seen = {}
            top = _SEEN.set(seen)
        try:
            key = self.task_id
            if key not in seen:
                if not own(self):
                    seen[key] = False
                else:
                    upstream = _upstream_from_graph(self)
                    if upstream is None:  # not in RunAll's graph: ask what it requires
                        upstream = all(t.complete() for t in flatten(self.requires()))
                    seen[key] = upstream
            return seen[key]
        finally:
            if top is not None:
                _SEEN.reset(top)
    complete.with_upstream = True
    complete.__doc__ = own.__doc__
    return complete


class UpstreamComplete:
    """A task is complete only when its own target is done *and* everything it requires is complete,
    transitively: so when an upstream partition will be redone in this run (a stale audit, a rebuilt
    load), what reads it is scheduled too, instead of being found stale only at run time. The own
    check comes first (most incomplete tasks stop there). For a task of RunAll's graph "everything
    upstream" is read from one freshness query of the day's markers (the criterion of
    ``RunAll.complete``: every input marker, transitively, present, made by the current code and not
    older than its own inputs), reused while the day's markers are the same (a digest of what that
    query reads); other tasks ask what
    they require (each task once per top-level ``complete()`` call). A subclass's own ``complete``
    is wrapped the same way."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("complete")
        if own is not None and not getattr(own, "with_upstream", False):
            cls.complete = _with_upstream(own)

    complete = _with_upstream(luigi.Task.complete)


class PipelineTask(UpstreamComplete, luigi.Task):
    """A task for one pipeline and one ds."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")
    pipeline = luigi.Parameter(description="Pipeline name, e.g. fakestore")

    @property
    def decl(self) -> Pipeline:
        return pipelines.get(self.pipeline)

    def report(self, message: str, percent: int | None = None, **rows: int) -> None:
        report_status(self, message, percent, **rows)


class EntityTask(PipelineTask):
    """A task for one entity of a pipeline and one ds."""

    entity = luigi.Parameter(description="Entity name within the pipeline, e.g. carts")

    @property
    def entity_decl(self) -> Entity:
        return self.decl.entity(self.entity)


class MartTask(PipelineTask):
    """A task for one mart of a pipeline and one ds."""

    mart = luigi.Parameter(description="Mart name within the pipeline, e.g. fact_sales")

    @property
    def mart_decl(self) -> Mart:
        return self.decl.mart(self.mart)
