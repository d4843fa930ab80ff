-- activity_status_code_counts ← staging.activity_api_logs (every file), for exactly the
-- (event date, status_code) groups the %(ds)s file touches.
--
-- Grain: (ds = UTC event date, status_code), with its response class. request_count = staged
-- requests.
-- Late events are exact: a touched group is recomputed from every file's rows of that group,
-- never incremented, so a request counts once, in its own date, whatever the order of runs.
-- One pass over the rows of the file's event dates; a group is kept when the file has a row in
-- it, or when it lies on a date the file's replaced version touched (then a group left without
-- rows is deleted). Merge as in activity_action_counts.
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
    SELECT e.event_date, e.status_code,
           min(e.response_class) AS response_class,   -- one class per code (derived from it)
           count(*)              AS request_count
      FROM staging.activity_api_logs AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.status_code
    HAVING bool_or(e.ds = %(ds)s) OR e.event_date IN (SELECT event_date FROM replaced)
),
vanished AS (
    DELETE FROM mart.activity_status_code_counts AS m
     WHERE m.ds IN (SELECT event_date FROM replaced)
       AND NOT EXISTS (SELECT 1 FROM recomputed AS r WHERE r.event_date = m.ds AND r.status_code = m.status_code)
)
INSERT INTO mart.activity_status_code_counts AS m (ds, status_code, response_class, request_count)
SELECT event_date, status_code, response_class, request_count
  FROM recomputed
    ON CONFLICT (ds, status_code) DO UPDATE
   SET response_class = EXCLUDED.response_class, request_count = EXCLUDED.request_count
 WHERE (m.response_class, m.request_count) IS DISTINCT FROM (EXCLUDED.response_class, EXCLUDED.request_count);

SELECT count(*) FROM mart.activity_status_code_counts WHERE ds = %(ds)s;
