"""RunAll(date): every pipeline's loads, marts, views, exports and checks, the DQ and KPI reports and the
deliverables packs, for one ds.

Complete when every marker of its whole graph (extract … pack) is fresh: present, made by the current
code version, and newer than the markers it read. ``complete`` and ``bulk_complete`` pass the graph
(targets, versions, edges; the same for every ds) to one query on ``etl.partition_markers``, so
``RangeDaily --of RunAll`` decides a long range quickly and schedules only missing or stale dates.
"""
from __future__ import annotations

import datetime as dt

import luigi

from targets import fresh_dates
from workflows import pipelines, warehouse
from workflows.tasks.base import marker_of, use_day_graph
from workflows.tasks.check import Check
from workflows.tasks.pack import deliverables
from workflows.tasks.publish import published
from workflows.tasks.report import DQReport
from workflows.tasks import versions


def graph(tasks: list[luigi.Task]) -> tuple[dict[str, luigi.Task], dict[str, str], set[tuple[str, str]]]:
    """Every task ``tasks`` need, by marker target; each target's code version; (target, input) edges."""
    found: dict[str, luigi.Task] = {}
    edges: set[tuple[str, str]] = set()
    todo = list(tasks)
    while todo:
        task = todo.pop()
        target = marker_of(task).target
        if target in found:
            continue
        found[target] = task
        needs = luigi.task.flatten(task.requires())
        edges.update((target, marker_of(t).target) for t in needs)
        todo.extend(needs)
    return found, {t: marker_of(task).version for t, task in found.items()}, edges


def topological(nodes: dict[str, str], edges: set[tuple[str, str]]) -> list[str]:
    """The targets with every input before the targets that read it (the order a run writes them)."""
    reads = {t: {i for o, i in edges if o == t} for t in nodes}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(nodes):
        for t in sorted(nodes):
            if t not in done and reads[t] <= done:
                order.append(t)
                done.add(t)
    return order


_graphs: dict = {}


def _day_graph_ordered() -> tuple[dict[str, str], set[tuple[str, str]], list[str]]:
    """RunAll's graph (the same for every ds) and its targets inputs first, once per process and
    set of pipelines."""
    enabled = tuple(pipelines.enabled())
    cached = _graphs.get("graph")
    # the declarations themselves are kept with the graph: compared by identity, never by id(),
    # which a new object may reuse once an old one is gone
    if cached is None or len(cached[0]) != len(enabled) or any(a is not b for a, b in zip(cached[0], enabled)):
        _, nodes, edges = graph(RunAll(date=dt.date(2000, 1, 1)).requires())
        cached = _graphs["graph"] = (enabled, (nodes, edges, topological(nodes, edges)))
    return cached[1]


def day_graph() -> tuple[dict[str, str], set[tuple[str, str]]]:
    """RunAll's graph (the same for every ds): target -> code version, and (target, input) edges."""
    nodes, edges, _ = _day_graph_ordered()
    return nodes, edges


use_day_graph(_day_graph_ordered)  # the tasks' complete() reads everything upstream from this graph
versions.on_clear(_graphs.clear)


class RunAll(luigi.WrapperTask):
    """Everything every enabled pipeline publishes for ``date``, their checks, and the DQ report."""

    date = luigi.DateParameter(description="The partition (ds), YYYY-MM-DD")

    @property
    def priority(self) -> int:
        """Older dates first: the scheduler passes a task's priority on to its dependencies, so a
        backfill runs each date's tasks before a later date's (history checks, the Trend sheet)."""
        return 10_000_000 - self.date.toordinal()

    def requires(self):
        enabled = pipelines.enabled()
        tasks = [t for p in enabled for t in published(p, self.date)]
        tasks += [Check(date=self.date, pipeline=p.name) for p in enabled]
        return tasks + [DQReport(date=self.date)] + deliverables(self.date)

    def marker_targets(self) -> list[str]:
        return sorted(day_graph()[0])

    def complete(self) -> bool:
        return self.date in fresh_dates(warehouse.shared(), *day_graph(), [self.date])

    @classmethod
    def bulk_complete(cls, parameter_tuples):
        dates = list(parameter_tuples)
        if not dates:
            return []
        done = fresh_dates(warehouse.shared(), *day_graph(), dates)
        return [d for d in dates if d in done]


