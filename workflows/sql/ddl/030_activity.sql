-- Activity: staging (one partition per file ds, replaced whole by Load) and marts per UTC event date.
-- No raw user id anywhere: user_pseudo_id = hex HMAC-SHA256(key, user id); IPs are masked.
-- Late events (docs/late-events.md): a staged row keeps the ds of the file it arrived in and
-- gets its event_date (the UTC date of its timestamp); a mart's ds is that event date. The mart
-- SQL for a file recomputes exactly the (event_date, key) groups the file touches, from the rows
-- of every file, so a late row counts once, in its own date, whatever the order of runs.

-- ── staging ────────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS staging.activity_user_activities (
    ds                 date        NOT NULL,   -- the file the event arrived in
    line_no            bigint      NOT NULL,   -- line in the raw file (lineage)
    user_pseudo_id     text        NOT NULL,
    session_id         text        NOT NULL,
    page_url           text        NOT NULL,
    action             text        NOT NULL,
    device_type        text        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    user_agent         text,
    ip_address_masked  text,                   -- IPv4 /24, IPv6 /48
    event_date         date        NOT NULL    -- UTC date of occurred_at: the mart rows it lands in
);

CREATE TABLE IF NOT EXISTS staging.activity_api_logs (
    ds                 date          NOT NULL,   -- the file the request was logged in
    line_no            bigint        NOT NULL,
    request_id         text          NOT NULL,
    endpoint           text          NOT NULL,
    method             text          NOT NULL,
    status_code        integer       NOT NULL,
    response_class     text          NOT NULL,   -- informational | success | redirect | client_error | server_error
    response_time_ms   numeric(12, 3) NOT NULL,
    requested_at       timestamptz   NOT NULL,
    user_pseudo_id     text          NOT NULL,
    event_date         date          NOT NULL   -- UTC date of requested_at
);
-- a warehouse staged before event_date existed: add it, from the timestamps (the staging engine
-- derives it for new rows, vectorised: cheaper than a generated column at every COPY)
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'staging'
                      AND table_name = 'activity_user_activities' AND column_name = 'event_date') THEN
        ALTER TABLE staging.activity_user_activities ADD COLUMN event_date date;
        UPDATE staging.activity_user_activities SET event_date = (occurred_at AT TIME ZONE 'UTC')::date;
        ALTER TABLE staging.activity_user_activities ALTER COLUMN event_date SET NOT NULL;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'staging'
                      AND table_name = 'activity_api_logs' AND column_name = 'event_date') THEN
        ALTER TABLE staging.activity_api_logs ADD COLUMN event_date date;
        UPDATE staging.activity_api_logs SET event_date = (requested_at AT TIME ZONE 'UTC')::date;
        ALTER TABLE staging.activity_api_logs ALTER COLUMN event_date SET NOT NULL;
    END IF;
END
$$;
-- the file's partition (Load's DELETE); the group recompute reads every file's rows of the
-- touched event dates through the event_date index
CREATE INDEX IF NOT EXISTS activity_user_activities_ds_idx ON staging.activity_user_activities (ds);
CREATE INDEX IF NOT EXISTS activity_user_activities_event_date_idx ON staging.activity_user_activities (event_date);
CREATE INDEX IF NOT EXISTS activity_api_logs_ds_idx ON staging.activity_api_logs (ds);
CREATE INDEX IF NOT EXISTS activity_api_logs_event_date_idx ON staging.activity_api_logs (event_date);

-- ── what each file holds, kept by statement triggers on every insert and delete ──
-- staging.activity_file_dates: rows per (entity, file ds, event date) — which dates a file's
-- events fall on (the marts and checks of that file cover exactly these) and how many rows every
-- file staged for a date (what the mart totals reconcile with). Load inserts (COPY) and deletes
-- (a replaced partition); it never updates, and an update is refused (a TRUNCATE empties the counts).
-- staging.activity_replaced: (entity, file ds, event date, user) of every deleted row. Load
-- replaces a file's partition (DELETE + COPY); a group only the old version had would be left in
-- a mart of another date, and the marts cannot see it once its rows are gone, so the mart SQL
-- of that file also recomputes these groups (the per-user marts by user; the small-key ones —
-- action, page, device, status, endpoint — every key of those dates). Identical re-loads add
-- nothing (the key is the whole row); the rows stay, so a mart that runs only later still finds
-- them, and recomputing them again changes nothing.
DO $$
BEGIN
    IF to_regclass('staging.activity_file_dates') IS NULL THEN
        CREATE TABLE staging.activity_file_dates (
            entity      text   NOT NULL,   -- user_activities | api_logs
            ds          date   NOT NULL,   -- the file
            event_date  date   NOT NULL,   -- a UTC date its rows fall on
            rows        bigint NOT NULL CHECK (rows > 0),
            PRIMARY KEY (entity, ds, event_date)
        );
        CREATE INDEX activity_file_dates_event_date_idx ON staging.activity_file_dates (entity, event_date);
        -- a warehouse staged before this table existed: count what is there once
        INSERT INTO staging.activity_file_dates
        SELECT 'user_activities', ds, event_date, count(*) FROM staging.activity_user_activities GROUP BY ds, event_date
         UNION ALL
        SELECT 'api_logs', ds, event_date, count(*) FROM staging.activity_api_logs GROUP BY ds, event_date;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS staging.activity_replaced (
    entity          text NOT NULL,   -- user_activities | api_logs
    ds              date NOT NULL,   -- the file whose partition was replaced
    event_date      date NOT NULL,
    user_pseudo_id  text NOT NULL,
    PRIMARY KEY (entity, ds, event_date, user_pseudo_id)
);

CREATE OR REPLACE FUNCTION staging.activity_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO staging.activity_file_dates AS f (entity, ds, event_date, rows)
    SELECT TG_ARGV[0], ds, event_date, count(*) FROM inserted_rows GROUP BY ds, event_date
        ON CONFLICT (entity, ds, event_date) DO UPDATE SET rows = f.rows + EXCLUDED.rows;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION staging.activity_note_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO staging.activity_replaced (entity, ds, event_date, user_pseudo_id)
    SELECT DISTINCT TG_ARGV[0], ds, event_date, user_pseudo_id FROM deleted_rows
        ON CONFLICT DO NOTHING;
    WITH gone AS (SELECT ds, event_date, count(*) AS n FROM deleted_rows GROUP BY ds, event_date),
    kept AS (
        UPDATE staging.activity_file_dates AS f SET rows = f.rows - g.n
          FROM gone AS g
         WHERE f.entity = TG_ARGV[0] AND f.ds = g.ds AND f.event_date = g.event_date AND f.rows > g.n
    )
    DELETE FROM staging.activity_file_dates AS f
     USING gone AS g
     WHERE f.entity = TG_ARGV[0] AND f.ds = g.ds AND f.event_date = g.event_date AND f.rows = g.n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION staging.activity_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are replaced by partition (delete + insert), never updated in place', TG_TABLE_NAME;
END
$$;

CREATE OR REPLACE FUNCTION staging.activity_note_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM staging.activity_file_dates WHERE entity = TG_ARGV[0];
    RETURN NULL;
END
$$;

-- The same four triggers on each activity staging table.
DO $$
DECLARE
    e text;
BEGIN
    FOREACH e IN ARRAY ARRAY['user_activities', 'api_logs'] LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I AFTER INSERT ON staging.%2$I '
                       'REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION staging.activity_count_inserted(%3$L)',
                       'activity_' || e || '_inserted', 'activity_' || e, e);
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I AFTER DELETE ON staging.%2$I '
                       'REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION staging.activity_note_deleted(%3$L)',
                       'activity_' || e || '_replaced', 'activity_' || e, e);
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I BEFORE UPDATE ON staging.%2$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION staging.activity_refuse_update()',
                       'activity_' || e || '_no_update', 'activity_' || e);
        EXECUTE format('CREATE OR REPLACE TRIGGER %1$I AFTER TRUNCATE ON staging.%2$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION staging.activity_note_truncated(%3$L)',
                       'activity_' || e || '_truncated', 'activity_' || e, e);
    END LOOP;
END
$$;

-- ── marts: activity ────────────────────────────────────────────────────────
-- In every activity mart, ds is the UTC event date of the rows aggregated (not the file's ds).
CREATE TABLE IF NOT EXISTS mart.activity_action_counts (
    ds            date   NOT NULL,
    action        text   NOT NULL,
    action_count  bigint NOT NULL,
    user_count    bigint NOT NULL,
    PRIMARY KEY (ds, action)
);

CREATE TABLE IF NOT EXISTS mart.activity_page_visits (
    ds             date   NOT NULL,
    page_url       text   NOT NULL,
    visit_count    bigint NOT NULL,   -- activity events on the page, any action
    visitor_count  bigint NOT NULL,   -- distinct users
    PRIMARY KEY (ds, page_url)
);

CREATE TABLE IF NOT EXISTS mart.activity_device_counts (
    ds           date   NOT NULL,
    device_type  text   NOT NULL,
    event_count  bigint NOT NULL,
    user_count   bigint NOT NULL,
    PRIMARY KEY (ds, device_type)
);

-- Users with at least two distinct action instants on the date (one instant: no interval, no row).
CREATE TABLE IF NOT EXISTS mart.activity_user_action_intervals (
    ds                           date           NOT NULL,
    user_pseudo_id               text           NOT NULL,
    action_count                 bigint         NOT NULL,
    distinct_action_times        bigint         NOT NULL,
    avg_seconds_between_actions  numeric(14, 3) NOT NULL,
    PRIMARY KEY (ds, user_pseudo_id)
);

-- ── marts: API ─────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS mart.activity_status_code_counts (
    ds              date    NOT NULL,
    status_code     integer NOT NULL,
    response_class  text    NOT NULL,
    request_count   bigint  NOT NULL,
    PRIMARY KEY (ds, status_code)
);

CREATE TABLE IF NOT EXISTS mart.activity_endpoint_latency (
    ds                    date           NOT NULL,
    endpoint              text           NOT NULL,
    method                text           NOT NULL,
    request_count         bigint         NOT NULL,
    avg_response_time_ms  numeric(12, 3) NOT NULL,
    p50_response_time_ms  numeric(12, 3) NOT NULL,   -- percentile_cont (linear interpolation)
    p95_response_time_ms  numeric(12, 3) NOT NULL,
    PRIMARY KEY (ds, endpoint, method)
);

CREATE TABLE IF NOT EXISTS mart.activity_requests_per_user (
    ds              date   NOT NULL,
    user_pseudo_id  text   NOT NULL,
    request_count   bigint NOT NULL,
    error_count     bigint NOT NULL,   -- status 4xx or 5xx
    PRIMARY KEY (ds, user_pseudo_id)
);

-- ── mart: per user and day, activity ⟗ API, each side aggregated before the join ──
CREATE TABLE IF NOT EXISTS mart.activity_user_day (
    ds                    date   NOT NULL,
    user_pseudo_id        text   NOT NULL,
    activity_events       bigint NOT NULL,
    sessions              bigint NOT NULL,
    views                 bigint NOT NULL,
    clicks                bigint NOT NULL,
    add_to_carts          bigint NOT NULL,
    purchases             bigint NOT NULL,
    api_requests          bigint NOT NULL,
    api_errors            bigint NOT NULL,
    avg_response_time_ms  numeric(12, 3),   -- NULL when the user made no API request
    PRIMARY KEY (ds, user_pseudo_id)
);

-- ── reconciliation (read by the mart checks beside each mart's SQL) ───────────
-- One row per (file ds, event date that file touches — or touched before it was replaced,
-- mart): the rows staged for that event date by every file vs the mart's total for that date.
-- The checks of a file's marts read its ds, so every date whose rows the file changed is
-- reconciled in the same transaction, on the new state. A filter on ds and mart reads a few
-- rows of staging.activity_file_dates and prunes the other branches.
DROP VIEW IF EXISTS mart.activity_count_reconciliation;
CREATE VIEW mart.activity_count_reconciliation AS
SELECT t.ds, t.event_date, t.entity, t.mart,
       (SELECT coalesce(sum(f.rows), 0)::bigint FROM staging.activity_file_dates AS f
         WHERE f.entity = t.entity AND f.event_date = t.event_date) AS staged_rows,
       CASE t.mart
         WHEN 'activity_action_counts' THEN
              (SELECT coalesce(sum(m.action_count), 0) FROM mart.activity_action_counts m WHERE m.ds = t.event_date)
         WHEN 'activity_page_visits' THEN
              (SELECT coalesce(sum(m.visit_count), 0) FROM mart.activity_page_visits m WHERE m.ds = t.event_date)
         WHEN 'activity_device_counts' THEN
              (SELECT coalesce(sum(m.event_count), 0) FROM mart.activity_device_counts m WHERE m.ds = t.event_date)
         WHEN 'activity_status_code_counts' THEN
              (SELECT coalesce(sum(m.request_count), 0) FROM mart.activity_status_code_counts m WHERE m.ds = t.event_date)
         WHEN 'activity_endpoint_latency' THEN
              (SELECT coalesce(sum(m.request_count), 0) FROM mart.activity_endpoint_latency m WHERE m.ds = t.event_date)
         WHEN 'activity_requests_per_user' THEN
              (SELECT coalesce(sum(m.request_count), 0) FROM mart.activity_requests_per_user m WHERE m.ds = t.event_date)
         WHEN 'activity_user_day' THEN
              (SELECT coalesce(sum(CASE t.entity WHEN 'user_activities' THEN m.activity_events ELSE m.api_requests END), 0)
                 FROM mart.activity_user_day m WHERE m.ds = t.event_date)
       END::bigint AS mart_total
  FROM (SELECT d.ds, d.event_date, d.entity, x.mart
          FROM (SELECT ds, event_date, entity FROM staging.activity_file_dates
                 UNION
                SELECT ds, event_date, entity FROM staging.activity_replaced) AS d
          JOIN (VALUES ('user_activities', 'activity_action_counts'), ('user_activities', 'activity_page_visits'),
                       ('user_activities', 'activity_device_counts'), ('user_activities', 'activity_user_day'),
                       ('api_logs', 'activity_status_code_counts'), ('api_logs', 'activity_endpoint_latency'),
                       ('api_logs', 'activity_requests_per_user'), ('api_logs', 'activity_user_day'))
               AS x(entity, mart) ON x.entity = d.entity) AS t;

-- One row per (file ds, event date it touches, entity): the distinct users staged for that date
-- by every file of the entity, and how many of them mart.activity_user_day lacks.
DROP VIEW IF EXISTS mart.activity_user_reconciliation;
DROP VIEW IF EXISTS mart.activity_user_day_reconciliation;
CREATE VIEW mart.activity_user_day_reconciliation AS
SELECT t.ds, t.event_date, t.entity, u.staged_users, u.missing_in_user_day
  FROM staging.activity_file_dates AS t
 CROSS JOIN LATERAL (
       SELECT count(*) AS staged_users,
              count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM mart.activity_user_day m
                                                  WHERE m.ds = t.event_date AND m.user_pseudo_id = s.user_pseudo_id))
                  AS missing_in_user_day
         FROM (SELECT DISTINCT a.user_pseudo_id FROM staging.activity_user_activities AS a
                WHERE t.entity = 'user_activities' AND a.event_date = t.event_date
                UNION ALL
               SELECT DISTINCT p.user_pseudo_id FROM staging.activity_api_logs AS p
                WHERE t.entity = 'api_logs' AND p.event_date = t.event_date) AS s) AS u;

-- One row per (file ds, event date it touches): the distinct users whose requests were staged
-- for that date by every file, how many mart.activity_requests_per_user lacks, and its row count
-- for the date (equal to them: no row without requests).
DROP VIEW IF EXISTS mart.activity_requests_per_user_reconciliation;
CREATE VIEW mart.activity_requests_per_user_reconciliation AS
SELECT t.ds, t.event_date, u.staged_users, u.missing_in_requests_per_user,
       (SELECT count(*) FROM mart.activity_requests_per_user m WHERE m.ds = t.event_date) AS requests_per_user_rows
  FROM staging.activity_file_dates AS t
 CROSS JOIN LATERAL (
       SELECT count(*) AS staged_users,
              count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM mart.activity_requests_per_user m
                                                  WHERE m.ds = t.event_date AND m.user_pseudo_id = s.user_pseudo_id))
                  AS missing_in_requests_per_user
         FROM (SELECT DISTINCT p.user_pseudo_id FROM staging.activity_api_logs AS p
                WHERE p.event_date = t.event_date) AS s) AS u
 WHERE t.entity = 'api_logs';
