-- activity_user_day ← staging.activity_user_activities ⟗ staging.activity_api_logs (every file),
-- for exactly the (event date, user) groups the %(ds)s files of either source touch.
--
-- Grain: (ds = UTC event date, user). Each side is aggregated to one row per (date, user) FIRST,
-- then the two are FULL OUTER JOINed: no event or request is repeated by the join (no
-- many-to-many inflation), so activity_events sums to the staged activity rows of the date and
-- api_requests to its staged API rows. A user on one side only gets zeros on the other
-- (avg_response_time_ms NULL without requests).
-- Late events are exact: a touched group is recomputed from every file's rows of that group,
-- never incremented, so an event counts once, in its own date, whatever the order of runs.
-- One pass over each side's rows of the event dates either file touches; a (date, user) is kept
-- when either file has a row of it, or when a Load of either file deleted one
-- (staging.activity_replaced: then a user left without rows is deleted). Sessions are counted
-- as (date, user, session) groups, not count(DISTINCT). Merge as in activity_action_counts.
SET LOCAL work_mem = '256MB';

WITH file_dates AS (   -- the UTC dates either file's rows fall on (kept by triggers: 030_activity.sql)
    SELECT event_date FROM staging.activity_file_dates WHERE ds = %(ds)s
),
replaced AS (   -- (event date, user) of rows a Load of either file deleted (see 030_activity.sql)
    SELECT DISTINCT event_date, user_pseudo_id FROM staging.activity_replaced WHERE ds = %(ds)s
),
dates AS (
    SELECT event_date FROM file_dates
     UNION
    SELECT event_date FROM replaced
),
sessions AS (   -- one row per (date, user, session)
    SELECT e.event_date, e.user_pseudo_id,
           count(*)                                       AS events,
           count(*) FILTER (WHERE e.action = 'view')        AS views,
           count(*) FILTER (WHERE e.action = 'click')       AS clicks,
           count(*) FILTER (WHERE e.action = 'add_to_cart') AS add_to_carts,
           count(*) FILTER (WHERE e.action = 'purchase')    AS purchases,
           bool_or(e.ds = %(ds)s)                           AS from_file
      FROM staging.activity_user_activities AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.user_pseudo_id, e.session_id
),
activity AS (
    SELECT event_date, user_pseudo_id,
           sum(events)::bigint       AS activity_events,
           count(*)                  AS sessions,
           sum(views)::bigint        AS views,
           sum(clicks)::bigint       AS clicks,
           sum(add_to_carts)::bigint AS add_to_carts,
           sum(purchases)::bigint    AS purchases,
           bool_or(from_file)        AS from_file
      FROM sessions
     GROUP BY event_date, user_pseudo_id
),
api AS (
    SELECT e.event_date, e.user_pseudo_id,
           count(*)                                     AS api_requests,
           count(*) FILTER (WHERE e.status_code >= 400) AS api_errors,
           round(avg(e.response_time_ms), 3)            AS avg_response_time_ms,
           bool_or(e.ds = %(ds)s)                       AS from_file
      FROM staging.activity_api_logs AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.user_pseudo_id
),
recomputed AS (
    SELECT coalesce(a.event_date, p.event_date)         AS event_date,
           coalesce(a.user_pseudo_id, p.user_pseudo_id) AS user_pseudo_id,
           coalesce(a.activity_events, 0) AS activity_events,
           coalesce(a.sessions, 0)        AS sessions,
           coalesce(a.views, 0)           AS views,
           coalesce(a.clicks, 0)          AS clicks,
           coalesce(a.add_to_carts, 0)    AS add_to_carts,
           coalesce(a.purchases, 0)       AS purchases,
           coalesce(p.api_requests, 0)    AS api_requests,
           coalesce(p.api_errors, 0)      AS api_errors,
           p.avg_response_time_ms
      FROM activity AS a
      FULL OUTER JOIN api AS p ON p.event_date = a.event_date AND p.user_pseudo_id = a.user_pseudo_id
     WHERE a.from_file OR p.from_file
        OR (coalesce(a.event_date, p.event_date), coalesce(a.user_pseudo_id, p.user_pseudo_id))
           IN (SELECT event_date, user_pseudo_id FROM replaced)
),
vanished AS (
    DELETE FROM mart.activity_user_day AS m
     USING replaced AS x
     WHERE m.ds = x.event_date AND m.user_pseudo_id = x.user_pseudo_id
       AND NOT EXISTS (SELECT 1 FROM recomputed AS r WHERE r.event_date = m.ds AND r.user_pseudo_id = m.user_pseudo_id)
)
INSERT INTO mart.activity_user_day AS m
       (ds, user_pseudo_id, activity_events, sessions, views, clicks, add_to_carts, purchases,
        api_requests, api_errors, avg_response_time_ms)
SELECT event_date, user_pseudo_id, activity_events, sessions, views, clicks, add_to_carts, purchases,
       api_requests, api_errors, avg_response_time_ms
  FROM recomputed
    ON CONFLICT (ds, user_pseudo_id) DO UPDATE
   SET activity_events = EXCLUDED.activity_events, sessions = EXCLUDED.sessions, views = EXCLUDED.views,
       clicks = EXCLUDED.clicks, add_to_carts = EXCLUDED.add_to_carts, purchases = EXCLUDED.purchases,
       api_requests = EXCLUDED.api_requests, api_errors = EXCLUDED.api_errors,
       avg_response_time_ms = EXCLUDED.avg_response_time_ms
 WHERE (m.activity_events, m.sessions, m.views, m.clicks, m.add_to_carts, m.purchases,
        m.api_requests, m.api_errors, m.avg_response_time_ms)
       IS DISTINCT FROM
       (EXCLUDED.activity_events, EXCLUDED.sessions, EXCLUDED.views, EXCLUDED.clicks, EXCLUDED.add_to_carts,
        EXCLUDED.purchases, EXCLUDED.api_requests, EXCLUDED.api_errors, EXCLUDED.avg_response_time_ms);

SELECT count(*) FROM mart.activity_user_day WHERE ds = %(ds)s;
