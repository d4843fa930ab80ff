-- Data-quality results store: append-only, one row per check per run.
-- A re-run of a date appends a new run; readers take the latest run per (ds, pipeline).
CREATE TABLE IF NOT EXISTS etl.dq_results (
    id              bigserial   PRIMARY KEY,
    run_id          text        NOT NULL,
    ds              date        NOT NULL,
    pipeline        text        NOT NULL,
    entity          text        NOT NULL,
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
    failing_sample  jsonb       NOT NULL DEFAULT '[]',   -- capped, personal fields masked
    message         text,
    checked_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS dq_results_ds_pipeline_idx ON etl.dq_results (ds, pipeline, checked_at);

-- Row flow per entity and run: raw → valid → quarantined → staging → mart.
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

-- Quarantine per entity and reason (reason with its values blanked), with a masked sample.
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

-- The latest run per (ds, pipeline): what the report reads.
CREATE OR REPLACE VIEW etl.dq_latest_runs AS
SELECT DISTINCT ON (ds, pipeline) ds, pipeline, run_id, checked_at
  FROM etl.dq_results
 ORDER BY ds, pipeline, checked_at DESC, id DESC;
