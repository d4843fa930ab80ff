-- activity_requests_per_user ← staging.activity_api_logs (every file), for exactly the
-- (event date, user) groups the %(ds)s file touches.
--
-- Grain: (ds = UTC event date, user). request_count = staged requests; error_count = 4xx and 5xx.
-- Late events are exact: a touched group is recomputed from every file's rows of that group,
-- never incremented, so a request counts once, in its own date, whatever the order of runs.
-- One pass over the rows of the file's event dates; a user's date is kept when the file has a
-- request of it, or when a Load of this file deleted one (staging.activity_replaced: then a
-- user left without requests is deleted). Merge as in activity_action_counts.
SET LOCAL work_mem = '256MB';

WITH file_dates AS (   -- the UTC dates the file's rows fall on (kept by a trigger: 030_activity.sql)
    SELECT event_date FROM staging.activity_file_dates WHERE entity = 'api_logs' AND ds = %(ds)s
),
replaced AS (   -- (event date, user) of rows a Load of this file deleted (see 030_activity.sql)
    SELECT event_date, user_pseudo_id FROM staging.activity_replaced WHERE entity = 'api_logs' AND ds = %(ds)s
),
dates AS (
    SELECT event_date FROM file_dates
     UNION
    SELECT event_date FROM replaced
),
recomputed AS (
    SELECT e.event_date, e.user_pseudo_id,
           count(*)                                    AS request_count,
           count(*) FILTER (WHERE e.status_code >= 400) AS error_count
      FROM staging.activity_api_logs AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.user_pseudo_id
    HAVING bool_or(e.ds = %(ds)s)
        OR (e.event_date, e.user_pseudo_id) IN (SELECT event_date, user_pseudo_id FROM replaced)
),
vanished AS (
    DELETE FROM mart.activity_requests_per_user AS m
     USING replaced AS x
     WHERE m.ds = x.event_date AND m.user_pseudo_id = x.user_pseudo_id
       AND NOT EXISTS (SELECT 1 FROM recomputed AS r
                        WHERE r.event_date = m.ds AND r.user_pseudo_id = m.user_pseudo_id)
)
INSERT INTO mart.activity_requests_per_user AS m (ds, user_pseudo_id, request_count, error_count)
SELECT event_date, user_pseudo_id, request_count, error_count
  FROM recomputed
    ON CONFLICT (ds, user_pseudo_id) DO UPDATE
   SET request_count = EXCLUDED.request_count, error_count = EXCLUDED.error_count
 WHERE (m.request_count, m.error_count) IS DISTINCT FROM (EXCLUDED.request_count, EXCLUDED.error_count);

SELECT count(*) FROM mart.activity_requests_per_user WHERE ds = %(ds)s;
