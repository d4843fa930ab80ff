-- Schemas and the partition-marker table every task's completeness reads.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS etl;

-- One row per completed (target, ds): written in the same transaction as the data it marks.
CREATE TABLE IF NOT EXISTS etl.partition_markers (
    target        text        NOT NULL,   -- e.g. 'load/fakestore/carts', 'mart/fakestore/fact_sales'
    ds            date        NOT NULL,
    task_family   text        NOT NULL,
    rows          bigint      NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (target, ds)
);
