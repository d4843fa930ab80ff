-- activity_device_counts ← staging.activity_user_activities (every file), for exactly the
-- (event date, device_type) groups the %(ds)s file touches.
--
-- Grain: (ds = UTC event date, device_type). event_count = staged events, user_count =
-- distinct users seen on the device type.
-- Late events are exact: a touched group is recomputed from every file's rows of that group,
-- never incremented, so an event counts once, in its own date, whatever the order of runs.
-- One pass over the rows of the file's event dates (the event_date index): grouped by
-- (group, user) first, so the distinct count is a hashed count, and a group is kept when the
-- file has a row in it (from_file) — or when it lies on a date the file's replaced version
-- touched (staging.activity_replaced): there every group is recomputed and a group left without
-- rows is deleted. Rows whose values did not change are not written: a re-run changes nothing.
SET LOCAL work_mem = '256MB';

WITH file_dates AS (   -- the UTC dates the file's rows fall on (kept by a trigger: 030_activity.sql)
    SELECT event_date FROM staging.activity_file_dates WHERE entity = 'user_activities' AND ds = %(ds)s
),
replaced AS (   -- (event date, user) of rows a Load of this file deleted (see 030_activity.sql)
    SELECT event_date, user_pseudo_id FROM staging.activity_replaced WHERE entity = 'user_activities' AND ds = %(ds)s
),
dates AS (
    SELECT event_date FROM file_dates
     UNION
    SELECT event_date FROM replaced
),
per_user AS (   -- one row per (group, user)
    SELECT e.event_date, e.device_type, e.user_pseudo_id, count(*) AS events,
           bool_or(e.ds = %(ds)s) AS from_file
      FROM staging.activity_user_activities AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.device_type, e.user_pseudo_id
),
recomputed AS (
    SELECT event_date, device_type, sum(events)::bigint AS event_count, count(*) AS user_count
      FROM per_user
     GROUP BY event_date, device_type
    HAVING bool_or(from_file) OR event_date IN (SELECT event_date FROM replaced)
),
vanished AS (
    DELETE FROM mart.activity_device_counts AS m
     WHERE m.ds IN (SELECT event_date FROM replaced)
       AND NOT EXISTS (SELECT 1 FROM recomputed AS r WHERE r.event_date = m.ds AND r.device_type = m.device_type)
)
INSERT INTO mart.activity_device_counts AS m (ds, device_type, event_count, user_count)
SELECT event_date, device_type, event_count, user_count
  FROM recomputed
    ON CONFLICT (ds, device_type) DO UPDATE
   SET event_count = EXCLUDED.event_count, user_count = EXCLUDED.user_count
 WHERE (m.event_count, m.user_count) IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.user_count);

SELECT count(*) FROM mart.activity_device_counts WHERE ds = %(ds)s;
