"""Check(date, pipeline): the pipeline's gate outcome for ds — fails when any of its gates blocked.

Runs after the pipeline's record (every audit and mart build decided and stored), apart from the
day's report, which does not wait for it. Its marker is written only when nothing blocked; a
blocked day fails with one line per failing check and per mart held back or rolled back, which
makes ``RunAll`` fail: exit code 30 (``[retcode] task_failed``).
"""
from __future__ import annotations

from workflows import layout, warehouse
from workflows.quality import decisions
from workflows.quality.outcome import gate_message, outcome_of
from workflows.quality.run import CheckFailed
from workflows.tasks.base import PipelineTask, input_targets
from workflows.tasks.record import Record


class Check(PipelineTask):
    """Data-quality gate of one pipeline and ds: passes only when no audit or mart build blocked."""

    def requires(self):
        return Record(date=self.date, pipeline=self.pipeline)

    def output(self):
        return layout.marker(f"check/{self.pipeline}", self.date, "Check", lambda: input_targets(self))

    def complete(self) -> bool:
        state = decisions.read_state(warehouse.shared(), [self.decl], self.date)
        record = state.decision(self.pipeline, "record")
        return (self.output().exists() and decisions.complete(state, self.decl, "record")
                and record is not None and not record.blocking)

    def run(self):
        state = decisions.read_state(warehouse.shared(), [self.decl], self.date)
        out = outcome_of(state, self.decl)
        if out.blocking:
            raise CheckFailed(gate_message(self.decl, self.date, out))
        with warehouse.transaction() as cur:
            self.output().write(cur, 1)
        self.report(f"{self.pipeline}: {out.status}", 100)
