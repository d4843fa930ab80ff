-- Incremental database sources (docs/incremental.md): one row per extract (its mode, window, rows and
-- NULL-watermark rows skipped), the full-load claim per table, the key snapshots deletes are seen by, and the
-- library mirror's delete flag.

-- Every database extract, per (pipeline, entity, ds); the row of the ds that made a table's full load
-- (mode 'full', is_initial) is its claim: later extracts of the table are incremental.
CREATE TABLE IF NOT EXISTS etl.source_loads (
    pipeline                  text        NOT NULL,
    entity                    text        NOT NULL,
    ds                        date        NOT NULL,
    mode                      text        NOT NULL CHECK (mode IN ('full', 'incremental')),
    is_initial                boolean     NOT NULL DEFAULT false,   -- this ds made the table's first load
    reason                    text        NOT NULL,                 -- initial | full_refresh | reload_initial | incremental
    window_from               timestamptz,                          -- NULL on a full load
    window_to                 timestamptz NOT NULL,
    rows                      bigint      NOT NULL,
    null_watermarks           bigint      NOT NULL,                 -- source rows whose watermark is NULL
    null_watermarks_skipped   bigint      NOT NULL,                 -- of those, not landed (incremental loads)
    snapshot_keys             bigint,                               -- keys landed for delete detection
    extracted_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (pipeline, entity, ds)
);
CREATE UNIQUE INDEX IF NOT EXISTS source_loads_one_initial ON etl.source_loads (pipeline, entity) WHERE is_initial;

-- Delete detection by key snapshot: the table's keys as of its latest extract (text, in key order),
-- replaced by every extract of the table; etl.source_snapshots says which ds took it. A warehouse row
-- whose key is missing was deleted in the source: the marts flag it (deleted_at = snapshot ds + 1).
CREATE TABLE IF NOT EXISTS staging.source_keys (
    pipeline  text   NOT NULL,
    entity    text   NOT NULL,
    key       text[] NOT NULL,
    PRIMARY KEY (pipeline, entity, key)
);
CREATE TABLE IF NOT EXISTS etl.source_snapshots (
    pipeline  text        NOT NULL,
    entity    text        NOT NULL,
    ds        date        NOT NULL,
    keys      bigint      NOT NULL,
    taken_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (pipeline, entity)
);

-- library: the mirror keeps a deleted source row, flagged; a NULL watermark is allowed (full loads land
-- it). Altered only when needed: an ALTER would wait on the locks of readers.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['members', 'books', 'rents'] LOOP
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                        WHERE table_schema = 'library' AND table_name = t AND column_name = 'deleted_at') THEN
            EXECUTE format('ALTER TABLE library.%I ADD COLUMN deleted_at timestamptz', t);
        END IF;
        IF EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = 'library' AND table_name = t AND column_name = 'updated_at'
                      AND is_nullable = 'NO') THEN
            EXECUTE format('ALTER TABLE library.%I ALTER COLUMN updated_at DROP NOT NULL', t);
        END IF;
    END LOOP;
END
$$;
