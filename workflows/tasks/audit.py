"""Audit(date, pipeline, entity): the entity's checks and default gates on its loaded ds, before any mart reads it.

Always completes once it has decided (``workflows.quality.audit``): a blocking decision holds
back the marts that read the entity, and the pipeline's ``Check`` fails. Complete while its
decision is current: a re-loaded partition, a changed check or threshold decides again.
"""
from __future__ import annotations

from workflows import layout, warehouse
from workflows.quality import decisions, declared
from workflows.quality.audit import audit_entity
from workflows.tasks.base import EntityTask, input_targets
from workflows.tasks.load import Load


class Audit(EntityTask):
    """Entity checks + default gates for one entity and ds -> etl.dq_results, etl.dq_decisions."""

    def requires(self):
        reads = declared.audit_reads(self.decl, self.entity)
        return [Load(date=self.date, pipeline=self.pipeline, entity=e) for e in (self.entity, *reads)]

    def output(self):
        return layout.marker(decisions.target("audit", self.pipeline, self.entity), self.date, "Audit",
                             lambda: input_targets(self))

    def complete(self) -> bool:
        state = decisions.read_state(warehouse.shared(), [self.decl], self.date)
        return decisions.complete(state, self.decl, "audit", self.entity)

    def run(self):
        verdict = audit_entity(self.decl, self.entity, self.date, self.output())
        counts = {s: sum(r.status == s for r in verdict.results) for s in ("pass", "warn", "fail", "error")}
        self.report(f"{verdict.outcome}{' (blocks its marts)' if verdict.blocking else ''}: "
                    + ", ".join(f"{n} {s}" for s, n in counts.items() if n), 100,
                    **{"in": len(verdict.results), "out": counts["pass"]})
