-- activity_page_visits ← staging.activity_user_activities (every file), for exactly the
-- (event date, page_url) groups the %(ds)s file touches.
--
-- Grain: (ds = UTC event date, page_url). visit_count = events on the page (any action),
-- visitor_count = distinct users.
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
    SELECT e.event_date, e.page_url, e.user_pseudo_id, count(*) AS events,
           bool_or(e.ds = %(ds)s) AS from_file
      FROM staging.activity_user_activities AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.page_url, e.user_pseudo_id
),
recomputed AS (
    SELECT event_date, page_url, sum(events)::bigint AS visit_count, count(*) AS visitor_count
      FROM per_user
     GROUP BY event_date, page_url
    HAVING bool_or(from_file) OR event_date IN (SELECT event_date FROM replaced)
),
vanished AS (
    DELETE FROM mart.activity_page_visits AS m
     WHERE m.ds IN (SELECT event_date FROM replaced)
       AND NOT EXISTS (SELECT 1 FROM recomputed AS r WHERE r.event_date = m.ds AND r.page_url = m.page_url)
)
INSERT INTO mart.activity_page_visits AS m (ds, page_url, visit_count, visitor_count)
SELECT event_date, page_url, visit_count, visitor_count
  FROM recomputed
    ON CONFLICT (ds, page_url) DO UPDATE
   SET visit_count = EXCLUDED.visit_count, visitor_count = EXCLUDED.visitor_count
 WHERE (m.visit_count, m.visitor_count) IS DISTINCT FROM (EXCLUDED.visit_count, EXCLUDED.visitor_count);

SELECT count(*) FROM mart.activity_page_visits WHERE ds = %(ds)s;
