-- Incremental database sources (docs/incremental.md): one row per extract (its mode, window, rows and
-- NULL-watermark rows skipped), the full-load claim per table, the key snapshots deletes are seen by, and the
-- library mirror's delete flag, the bikes staging mirrors' delete marking and the full-load test the marts read.

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

-- Was the extract of (pipeline, entity) for ds a full load? A mart's build reads it: on a full build
-- it refreshes every member, not only those changed on ds (docs/incremental.md).
CREATE OR REPLACE FUNCTION etl.is_full_load(pipeline_name text, entity_name text, load_ds date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM etl.source_loads
                    WHERE pipeline = pipeline_name AND entity = entity_name AND ds = load_ds AND mode = 'full')
$$;

-- Deletes in a staging mirror (bikes): a live row of `target` whose primary key is missing from the
-- table's latest key snapshot is flagged (deleted_at = the end of the snapshot's ds); a flagged row
-- whose key is back is unflagged. Either way its ds becomes `load_ds`, so the marts of that ds see
-- the change (facts removed, dimension members closed). Only rows whose flag changes are written:
-- re-runs change nothing. Keys compare as text in key order, like staging.source_keys holds them.
-- Returns the rows whose flag changed (0 when the table has no snapshot yet).
CREATE OR REPLACE FUNCTION staging.mark_deleted(target regclass, pipeline_name text, entity_name text, load_ds date)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    key_text  text;
    gone_at   timestamp;
    changed   bigint;
BEGIN
    SELECT (s.ds + 1)::timestamp INTO gone_at
      FROM etl.source_snapshots AS s WHERE s.pipeline = pipeline_name AND s.entity = entity_name;
    IF gone_at IS NULL THEN
        RETURN 0;
    END IF;
    SELECT string_agg(format('t.%I::text', a.attname), ', ' ORDER BY array_position(i.indkey::int2[], a.attnum))
      INTO key_text
      FROM pg_index AS i
      JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = target AND i.indisprimary;
    IF key_text IS NULL THEN
        RAISE EXCEPTION 'staging.mark_deleted: % has no primary key', target;
    END IF;
    EXECUTE format(
        'UPDATE %s AS t SET deleted_at = CASE WHEN t.deleted_at IS NULL THEN $3 END, ds = $4 '
        'WHERE (t.deleted_at IS NULL) = NOT EXISTS (SELECT 1 FROM staging.source_keys AS k '
        'WHERE k.pipeline = $1 AND k.entity = $2 AND k.key = ARRAY[%s])',
        target, key_text) USING pipeline_name, entity_name, gone_at, load_ds;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;
