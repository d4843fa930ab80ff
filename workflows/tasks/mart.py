"""MartBuild and Mart: write, audit, publish one mart for ds.

``MartBuild`` runs the mart's set-based SQL file (a merge for one ds that only updates rows whose
values differ, so a re-run changes nothing; it ends with a SELECT of the ds's row count) and the
mart's checks inside one transaction, committing only if they pass (``workflows.quality.build``);
it is held back when an entity the mart reads failed its audit. It always completes once it has
decided, so the day's record and report never wait on a failure. ``Mart`` is the mart as
published for ds (marker ``mart/<pipeline>/<mart>``, written in the build's transaction): what
views, exports, packs and reports require; it fails, naming why, when the build did not publish.
"""
from __future__ import annotations

from workflows import layout, warehouse
from workflows.quality import decisions, declared
from workflows.quality.build import build_mart
from workflows.tasks.audit import Audit
from workflows.tasks.base import MartTask, input_targets


class MartHeldBack(RuntimeError):
    """The mart was not published for ds (held back by an audit, or rolled back by its own checks)."""


class MartBuild(MartTask):
    """SQL + mart checks in one transaction: published, rolled back or held back; always recorded."""

    def requires(self):
        return ([Audit(date=self.date, pipeline=self.pipeline, entity=e) for e in self.mart_decl.entities]
                + [MartBuild(date=self.date, pipeline=self.pipeline, mart=m)
                   for m in declared.mart_reads(self.decl, self.mart)])

    def output(self):
        return layout.marker(decisions.target("mart", self.pipeline, self.mart), self.date, "MartBuild",
                             lambda: input_targets(self))

    def complete(self) -> bool:
        state = decisions.read_state(warehouse.shared(), [self.decl], self.date)
        return decisions.complete(state, self.decl, "mart", self.mart)

    def run(self):
        verdict = build_mart(self.decl, self.mart, self.date, self.output())
        rows = next((d.rows for d in [self._decision()] if d), None) or 0
        self.report(f"mart.{self.mart}: {verdict.outcome}" + (f", {rows} rows for ds" if verdict.outcome == "published"
                                                              else f" ({verdict.message})"), 100, out=rows)

    def _decision(self):
        state = decisions.read_state(warehouse.shared(), [self.decl], self.date)
        return state.decision(self.pipeline, "mart", self.mart)


class Mart(MartTask):
    """The mart as published for ds; fails with the build's reason when the build did not publish."""

    def requires(self):
        return MartBuild(date=self.date, pipeline=self.pipeline, mart=self.mart)

    def output(self):
        return layout.marker(f"mart/{self.pipeline}/{self.mart}", self.date, "Mart", lambda: input_targets(self))

    def run(self):
        if self.output().exists():
            self.report(f"mart.{self.mart} published for ds", 100)
            return
        state = decisions.read_state(warehouse.shared(), [self.decl], self.date)
        d = state.decision(self.pipeline, "mart", self.mart)
        raise MartHeldBack(f"mart.{self.mart} not published for {self.pipeline} ds={self.date}: "
                           f"{d.message if d else 'no build decision'}")
