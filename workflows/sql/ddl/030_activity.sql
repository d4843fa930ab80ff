-- Activity: staging (one partition per ds, replaced whole by Load) and per-ds marts.
-- No raw user id anywhere: user_pseudo_id = hex HMAC-SHA256(key, user id); IPs are masked.

-- ── staging ────────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS staging.activity_user_activities (
    ds                 date        NOT NULL,
    line_no            bigint      NOT NULL,   -- line in the raw file (lineage)
    user_pseudo_id     text        NOT NULL,
    session_id         text        NOT NULL,
    page_url           text        NOT NULL,
    action             text        NOT NULL,
    device_type        text        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    user_agent         text,
    ip_address_masked  text                    -- IPv4 /24, IPv6 /48
);
CREATE INDEX IF NOT EXISTS activity_user_activities_ds_idx ON staging.activity_user_activities (ds);

CREATE TABLE IF NOT EXISTS staging.activity_api_logs (
    ds                 date          NOT NULL,
    line_no            bigint        NOT NULL,
    request_id         text          NOT NULL,
    endpoint           text          NOT NULL,
    method             text          NOT NULL,
    status_code        integer       NOT NULL,
    response_class     text          NOT NULL,   -- informational | success | redirect | client_error | server_error
    response_time_ms   numeric(12, 3) NOT NULL,
    requested_at       timestamptz   NOT NULL,
    user_pseudo_id     text          NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_api_logs_ds_idx ON staging.activity_api_logs (ds);

-- ── marts: activity ────────────────────────────────────────────────────────
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

-- Users with at least two distinct action instants in the ds (one instant: no interval, no row).
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

-- ── reconciliation: every count mart's total against its staged rows, per ds ──
-- Read by the expression checks in schemas/activity/*.checks.json. Each branch groups
-- one staging table by ds, so a filter on ds reaches the staging index.
CREATE OR REPLACE VIEW mart.activity_count_reconciliation AS
SELECT s.ds, 'user_activities' AS entity, 'activity_action_counts' AS mart, s.staged_rows,
       (SELECT coalesce(sum(m.action_count), 0) FROM mart.activity_action_counts m WHERE m.ds = s.ds) AS mart_total
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_user_activities GROUP BY ds) s
UNION ALL
SELECT s.ds, 'user_activities', 'activity_page_visits', s.staged_rows,
       (SELECT coalesce(sum(m.visit_count), 0) FROM mart.activity_page_visits m WHERE m.ds = s.ds)
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_user_activities GROUP BY ds) s
UNION ALL
SELECT s.ds, 'user_activities', 'activity_device_counts', s.staged_rows,
       (SELECT coalesce(sum(m.event_count), 0) FROM mart.activity_device_counts m WHERE m.ds = s.ds)
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_user_activities GROUP BY ds) s
UNION ALL
SELECT s.ds, 'user_activities', 'activity_user_day', s.staged_rows,
       (SELECT coalesce(sum(m.activity_events), 0) FROM mart.activity_user_day m WHERE m.ds = s.ds)
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_user_activities GROUP BY ds) s
UNION ALL
SELECT s.ds, 'api_logs', 'activity_status_code_counts', s.staged_rows,
       (SELECT coalesce(sum(m.request_count), 0) FROM mart.activity_status_code_counts m WHERE m.ds = s.ds)
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_api_logs GROUP BY ds) s
UNION ALL
SELECT s.ds, 'api_logs', 'activity_endpoint_latency', s.staged_rows,
       (SELECT coalesce(sum(m.request_count), 0) FROM mart.activity_endpoint_latency m WHERE m.ds = s.ds)
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_api_logs GROUP BY ds) s
UNION ALL
SELECT s.ds, 'api_logs', 'activity_requests_per_user', s.staged_rows,
       (SELECT coalesce(sum(m.request_count), 0) FROM mart.activity_requests_per_user m WHERE m.ds = s.ds)
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_api_logs GROUP BY ds) s
UNION ALL
SELECT s.ds, 'api_logs', 'activity_user_day', s.staged_rows,
       (SELECT coalesce(sum(m.api_requests), 0) FROM mart.activity_user_day m WHERE m.ds = s.ds)
  FROM (SELECT ds, count(*) AS staged_rows FROM staging.activity_api_logs GROUP BY ds) s;
