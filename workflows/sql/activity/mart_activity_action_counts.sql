-- activity_action_counts ← staging.activity_user_activities for %(ds)s.
-- Grain: (ds, action). Every staged event counts once, so action_count sums to the
-- partition's staged rows. One statement: aggregate, drop groups that vanished,
-- upsert the rest only where a value changed (a re-run changes nothing).

WITH counted AS (
    SELECT action,
           count(*)                       AS action_count,
           count(DISTINCT user_pseudo_id) AS user_count
      FROM staging.activity_user_activities
     WHERE ds = %(ds)s
     GROUP BY action
),
vanished AS (
    DELETE FROM mart.activity_action_counts AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM counted AS c WHERE c.action = m.action)
)
INSERT INTO mart.activity_action_counts AS m (ds, action, action_count, user_count)
SELECT %(ds)s, action, action_count, user_count
  FROM counted
ON CONFLICT (ds, action) DO UPDATE
   SET action_count = EXCLUDED.action_count, user_count = EXCLUDED.user_count
 WHERE (m.action_count, m.user_count) IS DISTINCT FROM (EXCLUDED.action_count, EXCLUDED.user_count);

SELECT count(*) FROM mart.activity_action_counts WHERE ds = %(ds)s;
