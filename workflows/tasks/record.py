"""Record(date, pipeline): the pipeline's day once every audit and mart build has decided, whatever they decided.

Always completes (so the day's report covers every pipeline, blocked or not); stores the
pipeline's outcome — passed, warned, or blocked at which step — in ``etl.dq_decisions``.
"""
from __future__ import annotations

from workflows import layout, warehouse
from workflows.quality import decisions
from workflows.quality.outcome import record
from workflows.tasks.audit import Audit
from workflows.tasks.base import PipelineTask, input_targets
from workflows.tasks.mart import MartBuild


class Record(PipelineTask):
    """After every Audit and MartBuild of the pipeline for ds: its outcome, recorded."""

    def requires(self):
        return ([Audit(date=self.date, pipeline=self.pipeline, entity=e) for e in self.decl.entities]
                + [MartBuild(date=self.date, pipeline=self.pipeline, mart=m) for m in self.decl.marts])

    def output(self):
        return layout.marker(decisions.target("record", self.pipeline), self.date, "Record", lambda: input_targets(self))

    def complete(self) -> bool:
        state = decisions.read_state(warehouse.shared(), [self.decl], self.date)
        return decisions.complete(state, self.decl, "record")

    def run(self):
        out = record(self.decl, self.date, self.output())
        self.report(f"{self.pipeline}: {out.describe()}", 100)
