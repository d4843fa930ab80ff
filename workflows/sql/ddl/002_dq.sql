-- Data-quality store. Results are append-only, one row per check per evaluation (run_id): an
-- entity's audit (step 'audit', entity = the entity) or a mart's build (step 'mart', entity =
-- the mart). etl.dq_decisions holds the latest decision of every step; readers take the results
-- of those decisions (etl.dq_latest_runs).
CREATE TABLE IF NOT EXISTS etl.dq_results (
    id              bigserial   PRIMARY KEY,
    run_id          text        NOT NULL,
    ds              date        NOT NULL,
    pipeline        text        NOT NULL,
    entity          text        NOT NULL,   -- the audited entity, or the mart of a mart check
    layer           text        NOT NULL,   -- raw | staging | mart
    check_name      text        NOT NULL,
    check_type      text        NOT NULL,
    columns         text[]      NOT NULL DEFAULT '{}',
    severity        text        NOT NULL CHECK (severity IN ('error', 'warn')),
    status          text        NOT NULL CHECK (status IN ('pass', 'warn', 'fail', 'error')),
    observed        text,
    threshold       text,
    failing_count   bigint,
    total_count     bigint,
    failing_sample  jsonb       NOT NULL DEFAULT '[]',   -- capped, sanitised, personal fields masked
    message         text,
    checked_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE etl.dq_results ADD COLUMN IF NOT EXISTS step text NOT NULL DEFAULT 'audit';  -- audit | mart
ALTER TABLE etl.dq_results ADD COLUMN IF NOT EXISTS checked_table text;                  -- schema.table read
CREATE INDEX IF NOT EXISTS dq_results_ds_pipeline_idx ON etl.dq_results (ds, pipeline, checked_at);
CREATE INDEX IF NOT EXISTS dq_results_run_idx ON etl.dq_results (run_id);

-- Row flow per entity and audit: raw → valid → quarantined → staging (the marts: etl.dq_decisions).
CREATE TABLE IF NOT EXISTS etl.dq_row_flow (
    run_id          text    NOT NULL,
    ds              date    NOT NULL,
    pipeline        text    NOT NULL,
    entity          text    NOT NULL,
    raw_records     bigint,
    valid_rows      bigint,
    quarantined     bigint,
    staging_rows    bigint,
    mart_table      text,
    mart_rows       bigint,
    PRIMARY KEY (run_id, pipeline, entity)
);

-- Quarantine per entity, audit and reason (reason with its values blanked), with a masked sample.
CREATE TABLE IF NOT EXISTS etl.dq_quarantine (
    run_id          text    NOT NULL,
    ds              date    NOT NULL,
    pipeline        text    NOT NULL,
    entity          text    NOT NULL,
    rule            text    NOT NULL,
    reason          text    NOT NULL,
    records         bigint  NOT NULL,
    sample          jsonb   NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, pipeline, entity, rule, reason)
);

-- The latest decision of every step for (ds, pipeline): an entity's audit, a mart's build
-- (published | rolled_back | held_back), the pipeline's record and the day's report. ``stamp``
-- fingerprints the inputs the decision was made from (upstream markers and decisions, check
-- declarations, [quality] thresholds, SQL): a task is complete while its marker exists and its
-- stamp equals the stamp of its current inputs (workflows/quality/decisions.py).
CREATE TABLE IF NOT EXISTS etl.dq_decisions (
    ds              date        NOT NULL,
    pipeline        text        NOT NULL,   -- '' for the day's report
    step            text        NOT NULL CHECK (step IN ('audit', 'mart', 'record', 'report')),
    scope           text        NOT NULL,   -- entity | mart | '' (record, report)
    target          text        NOT NULL,   -- the step's partition marker
    run_id          text        NOT NULL,
    outcome         text        NOT NULL,   -- pass | warn | fail | error | published | rolled_back | held_back | blocked
    blocking        boolean     NOT NULL,   -- true: the pipeline's gate fails (RunAll exits 30)
    stamp           text        NOT NULL,
    message         text,
    rows            bigint,
    decided_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (ds, pipeline, step, scope)
);

-- The evaluations behind the current decisions (one row per audit and mart build with checks):
-- join etl.dq_results on (ds, pipeline, run_id) for the day's current results.
CREATE OR REPLACE VIEW etl.dq_latest_runs AS
SELECT ds, pipeline, run_id, decided_at AS checked_at, step, scope
  FROM etl.dq_decisions
 WHERE step IN ('audit', 'mart');
