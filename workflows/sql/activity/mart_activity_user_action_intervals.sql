-- activity_user_action_intervals ← staging.activity_user_activities (every file), for exactly
-- the (event date, user) groups the %(ds)s file touches.
--
-- Grain: (ds = UTC event date, user). The average gap between a user's consecutive actions on
-- the date, over the user's sorted DISTINCT instants (two events at one instant are one instant).
-- Users with a single instant have no interval: they get no row (not a zero). The consecutive
-- gaps of sorted instants add up to last − first, so the average is
-- (max − min) / (distinct instants − 1): no sort, no window. Exact arithmetic (numeric epoch
-- seconds), rounded to milliseconds.
-- Late events are exact: a touched group is recomputed from every file's rows of that group,
-- never incremented, so an event counts once, in its own date, whatever the order of runs.
-- One pass over the rows of the file's event dates; users kept (and deleted when they lost
-- their interval) as in activity_requests_per_user. Merge as usual.
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
instants AS (   -- one row per (date, user, instant)
    SELECT e.event_date, e.user_pseudo_id, e.occurred_at, count(*) AS events,
           bool_or(e.ds = %(ds)s) AS from_file
      FROM staging.activity_user_activities AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.user_pseudo_id, e.occurred_at
),
recomputed AS (
    SELECT event_date, user_pseudo_id,
           sum(events)::bigint AS action_count,
           count(*)            AS distinct_action_times,
           round(extract(epoch FROM max(occurred_at) - min(occurred_at)) / (count(*) - 1), 3)
                               AS avg_seconds_between_actions
      FROM instants
     GROUP BY event_date, user_pseudo_id
    HAVING count(*) > 1
       AND (bool_or(from_file)
            OR (event_date, user_pseudo_id) IN (SELECT event_date, user_pseudo_id FROM replaced))
),
vanished AS (   -- a user a replaced version touched, left with one instant (or none): no interval now
    DELETE FROM mart.activity_user_action_intervals AS m
     USING replaced AS x
     WHERE m.ds = x.event_date AND m.user_pseudo_id = x.user_pseudo_id
       AND NOT EXISTS (SELECT 1 FROM recomputed AS r WHERE r.event_date = m.ds AND r.user_pseudo_id = m.user_pseudo_id)
)
INSERT INTO mart.activity_user_action_intervals AS m
       (ds, user_pseudo_id, action_count, distinct_action_times, avg_seconds_between_actions)
SELECT event_date, user_pseudo_id, action_count, distinct_action_times, avg_seconds_between_actions
  FROM recomputed
    ON CONFLICT (ds, user_pseudo_id) DO UPDATE
   SET action_count = EXCLUDED.action_count,
       distinct_action_times = EXCLUDED.distinct_action_times,
       avg_seconds_between_actions = EXCLUDED.avg_seconds_between_actions
 WHERE (m.action_count, m.distinct_action_times, m.avg_seconds_between_actions)
       IS DISTINCT FROM
       (EXCLUDED.action_count, EXCLUDED.distinct_action_times, EXCLUDED.avg_seconds_between_actions);

SELECT count(*) FROM mart.activity_user_action_intervals WHERE ds = %(ds)s;
