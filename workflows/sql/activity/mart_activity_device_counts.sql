-- activity_device_counts ← staging.activity_user_activities for %(ds)s.
-- Grain: (ds, device_type). event_count sums to the staged rows; user_count = distinct
-- users seen on the device type. Merge as in activity_action_counts.

WITH counted AS (
    SELECT device_type,
           count(*)                       AS event_count,
           count(DISTINCT user_pseudo_id) AS user_count
      FROM staging.activity_user_activities
     WHERE ds = %(ds)s
     GROUP BY device_type
),
vanished AS (
    DELETE FROM mart.activity_device_counts AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM counted AS c WHERE c.device_type = m.device_type)
)
INSERT INTO mart.activity_device_counts AS m (ds, device_type, event_count, user_count)
SELECT %(ds)s, device_type, event_count, user_count
  FROM counted
ON CONFLICT (ds, device_type) DO UPDATE
   SET event_count = EXCLUDED.event_count, user_count = EXCLUDED.user_count
 WHERE (m.event_count, m.user_count) IS DISTINCT FROM (EXCLUDED.event_count, EXCLUDED.user_count);

SELECT count(*) FROM mart.activity_device_counts WHERE ds = %(ds)s;
