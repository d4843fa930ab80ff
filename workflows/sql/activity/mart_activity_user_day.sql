-- activity_user_day ← staging.activity_user_activities ⟗ staging.activity_api_logs for %(ds)s.
-- Grain: (ds, user). Each side is aggregated to one row per user FIRST, then the two
-- are FULL OUTER JOINed on the pseudonym: no event or request is repeated by the join
-- (no many-to-many inflation), so activity_events sums to the staged activity rows and
-- api_requests to the staged API rows. A user on one side only gets zeros on the other
-- (avg_response_time_ms NULL without requests). Merge as in activity_action_counts.

WITH activity AS (
    SELECT user_pseudo_id,
           count(*)                                       AS activity_events,
           count(DISTINCT session_id)                     AS sessions,
           count(*) FILTER (WHERE action = 'view')        AS views,
           count(*) FILTER (WHERE action = 'click')       AS clicks,
           count(*) FILTER (WHERE action = 'add_to_cart') AS add_to_carts,
           count(*) FILTER (WHERE action = 'purchase')    AS purchases
      FROM staging.activity_user_activities
     WHERE ds = %(ds)s
     GROUP BY user_pseudo_id
),
api AS (
    SELECT user_pseudo_id,
           count(*)                                   AS api_requests,
           count(*) FILTER (WHERE status_code >= 400) AS api_errors,
           round(avg(response_time_ms), 3)            AS avg_response_time_ms
      FROM staging.activity_api_logs
     WHERE ds = %(ds)s
     GROUP BY user_pseudo_id
),
joined AS (
    SELECT coalesce(a.user_pseudo_id, p.user_pseudo_id) AS user_pseudo_id,
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
      FULL OUTER JOIN api AS p ON p.user_pseudo_id = a.user_pseudo_id
),
vanished AS (
    DELETE FROM mart.activity_user_day AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM joined AS j WHERE j.user_pseudo_id = m.user_pseudo_id)
)
INSERT INTO mart.activity_user_day AS m
       (ds, user_pseudo_id, activity_events, sessions, views, clicks, add_to_carts, purchases,
        api_requests, api_errors, avg_response_time_ms)
SELECT %(ds)s, user_pseudo_id, activity_events, sessions, views, clicks, add_to_carts, purchases,
       api_requests, api_errors, avg_response_time_ms
  FROM joined
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
