"""When a gate step is complete: marker present, stamp of its current inputs, every step it read complete."""
from __future__ import annotations

import dataclasses
import datetime as dt

from tests.conftest import luigi_settings
from workflows.pipelines import fakestore
from workflows.quality import decisions as D

P = fakestore.PIPELINE
DS = dt.date(2026, 11, 20)
T0 = dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.timezone.utc)


def decided_day() -> D.State:
    """A state where every audit, build and the record were decided from the current inputs."""
    state = D.State(DS, markers={f"load/fakestore/{e}": T0 for e in P.entities})
    for step, scopes in (("audit", P.entities), ("mart", ("dim_product", "dim_user", "fact_sales")), ("record", [""])):
        for scope in scopes:
            state.markers[D.target(step, "fakestore", scope)] = T0
            state.decisions[("fakestore", step, scope)] = D.Decision(
                step, scope, f"run-{step}-{scope}", D.stamp(state, P, step, scope), "pass", False, None, 1)
    return state


def test_a_day_decided_from_its_current_inputs_is_complete():
    state = decided_day()
    assert all(D.complete(state, P, "audit", e) for e in P.entities)
    assert D.complete(state, P, "mart", "fact_sales") and D.complete(state, P, "record")


def test_a_reloaded_partition_makes_its_audit_and_everything_after_it_stale():
    state = decided_day()
    state.markers["load/fakestore/carts"] = T0 + dt.timedelta(minutes=5)
    assert not D.complete(state, P, "audit", "carts")
    assert D.complete(state, P, "audit", "users") and D.complete(state, P, "mart", "dim_user")
    assert not D.complete(state, P, "mart", "fact_sales")  # reads carts
    assert not D.complete(state, P, "record")


def test_a_new_decision_upstream_makes_the_mart_stale_and_a_missing_marker_is_incomplete():
    state = decided_day()
    state.decisions[("fakestore", "mart", "dim_product")].run_id = "run-again"
    assert not D.complete(state, P, "mart", "fact_sales")  # its checks read dim_product
    assert D.complete(state, P, "mart", "dim_user")
    state = decided_day()
    del state.markers[D.target("audit", "fakestore", "users")]
    assert not D.complete(state, P, "audit", "users") and not D.complete(state, P, "record")


def test_a_changed_threshold_makes_every_audit_stale_but_not_the_decisions_it_does_not_feed():
    state = decided_day()
    with luigi_settings({"quality": {"max_quarantine_share": "0.9"}}):
        now = dataclasses.replace(state, memo={})  # the state as a completeness check reads it now
        assert not any(D.complete(now, P, "audit", e) for e in P.entities)
    now = dataclasses.replace(state, memo={})
    assert all(D.complete(now, P, "audit", e) for e in P.entities)


def test_the_report_is_complete_while_it_covers_the_current_records():
    state = decided_day()
    state.markers[D.target("report", "")] = T0
    state.decisions[("", "report", "")] = D.Decision("report", "", "r", D.report_stamp(state, [P]), "PASS", False,
                                                      None, 1)
    assert D.report_complete(state, [P])
    state.decisions[("fakestore", "record", "")].run_id = "recorded-again"
    assert not D.report_complete(state, [P])
