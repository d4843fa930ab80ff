-- Code versions and upstream freshness on partition markers (issue 14); migrates an existing table.
--   code_version: hash of what determined the marked output (mart SQL + checks, entity declaration +
--                 JSON Schema, engine contract version, ...); NULL on markers written before this file
--                 (unknown code: stale).
--   seq:          a monotonically increasing number given at every write; a marker is fresh only
--                 when it is newer (higher seq) than the markers of every input it read.
CREATE SEQUENCE IF NOT EXISTS etl.partition_marker_seq;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = 'etl' AND table_name = 'partition_markers' AND column_name = 'seq') THEN
        ALTER TABLE etl.partition_markers ADD COLUMN code_version text, ADD COLUMN seq bigint;
        -- existing markers keep their order of completion
        UPDATE etl.partition_markers m SET seq = o.n
          FROM (SELECT target, ds, row_number() OVER (ORDER BY finished_at, target, ds) AS n
                  FROM etl.partition_markers) o
         WHERE o.target = m.target AND o.ds = m.ds;
        PERFORM setval('etl.partition_marker_seq', greatest((SELECT max(seq) FROM etl.partition_markers), 1));
        ALTER TABLE etl.partition_markers
            ALTER COLUMN seq SET DEFAULT nextval('etl.partition_marker_seq'), ALTER COLUMN seq SET NOT NULL;
    END IF;
END
$$;

-- Status and Rerun read every marker of a date (and of a range).
CREATE INDEX IF NOT EXISTS partition_markers_ds ON etl.partition_markers (ds);

-- Every Rerun: what it invalidated, once (a Rerun resumed by luigi never invalidates twice).
CREATE TABLE IF NOT EXISTS etl.reruns (
    request_id     text        PRIMARY KEY,
    requested_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    command        text        NOT NULL,
    dates          date[]      NOT NULL,
    invalidated    text[]      NOT NULL    -- '<target>@<ds>' of every marker deleted
);
