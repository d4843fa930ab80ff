-- Run log: one row per task run (success or failure), written by the worker's event handlers.
CREATE TABLE IF NOT EXISTS etl.task_runs (
    id                bigserial   PRIMARY KEY,
    task_id           text        NOT NULL,
    task_family       text        NOT NULL,
    pipeline          text,
    entity            text,        -- entity or mart name, when the task has one
    ds                date,
    started_at        timestamptz,
    finished_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    seconds           double precision,
    status            text        NOT NULL CHECK (status IN ('success', 'failed')),
    rows_in           bigint,
    rows_out          bigint,
    rows_quarantined  bigint,
    error             text,
    host              text,
    pid               integer
);
CREATE INDEX IF NOT EXISTS task_runs_ds_idx ON etl.task_runs (ds, task_family);
CREATE INDEX IF NOT EXISTS task_runs_task_idx ON etl.task_runs (task_id, finished_at);
