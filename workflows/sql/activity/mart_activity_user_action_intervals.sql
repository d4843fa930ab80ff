-- activity_user_action_intervals ← staging.activity_user_activities for %(ds)s.
-- Grain: (ds, user). The average gap between a user's consecutive actions, over the
-- user's sorted DISTINCT instants (two events at one instant are one instant). Users
-- with a single instant have no interval: they get no row (not a zero).
-- Exact arithmetic (numeric epoch seconds), rounded to milliseconds. Merge as usual.

WITH instants AS (
    SELECT user_pseudo_id, occurred_at, count(*) AS events
      FROM staging.activity_user_activities
     WHERE ds = %(ds)s
     GROUP BY user_pseudo_id, occurred_at
),
gaps AS (
    SELECT user_pseudo_id, events,
           extract(epoch FROM occurred_at - lag(occurred_at) OVER (PARTITION BY user_pseudo_id
                                                                 ORDER BY occurred_at)) AS gap_seconds
      FROM instants
),
per_user AS (
    SELECT user_pseudo_id,
           sum(events)               AS action_count,
           count(*)                  AS distinct_action_times,
           round(avg(gap_seconds), 3) AS avg_seconds_between_actions   -- avg skips the first (NULL) gap
      FROM gaps
     GROUP BY user_pseudo_id
    HAVING count(*) > 1
),
vanished AS (
    DELETE FROM mart.activity_user_action_intervals AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM per_user AS p WHERE p.user_pseudo_id = m.user_pseudo_id)
)
INSERT INTO mart.activity_user_action_intervals AS m
       (ds, user_pseudo_id, action_count, distinct_action_times, avg_seconds_between_actions)
SELECT %(ds)s, user_pseudo_id, action_count, distinct_action_times, avg_seconds_between_actions
  FROM per_user
ON CONFLICT (ds, user_pseudo_id) DO UPDATE
   SET action_count = EXCLUDED.action_count,
       distinct_action_times = EXCLUDED.distinct_action_times,
       avg_seconds_between_actions = EXCLUDED.avg_seconds_between_actions
 WHERE (m.action_count, m.distinct_action_times, m.avg_seconds_between_actions)
       IS DISTINCT FROM
       (EXCLUDED.action_count, EXCLUDED.distinct_action_times, EXCLUDED.avg_seconds_between_actions);

SELECT count(*) FROM mart.activity_user_action_intervals WHERE ds = %(ds)s;
