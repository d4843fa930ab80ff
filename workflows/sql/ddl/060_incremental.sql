-- Incremental database sources (docs/incremental.md): one row per extract (its mode, window, rows and
-- NULL-watermark rows skipped), the full-load claim per table, the deleted keys seen, and the
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

-- Source rows seen deleted: by a key snapshot (staged keys missing from the source's keys) or a
-- soft-delete column. key = the entity's key columns as text, in key order. deleted_at: the end of the
-- first extract window (ds + 1) that saw the row gone, or the soft-delete column's value.
CREATE TABLE IF NOT EXISTS staging.deleted_keys (
    pipeline    text        NOT NULL,
    entity      text        NOT NULL,
    key         text[]      NOT NULL,
    deleted_at  timestamptz NOT NULL,
    ds          date        NOT NULL,            -- the ds whose extract saw it deleted
    PRIMARY KEY (pipeline, entity, key)
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
