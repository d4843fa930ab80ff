-- activity_requests_per_user ← staging.activity_api_logs for %(ds)s.
-- Grain: (ds, user). request_count sums to the staged rows; error_count = 4xx and 5xx.
-- Merge as in activity_action_counts.

WITH per_user AS (
    SELECT user_pseudo_id,
           count(*)                                  AS request_count,
           count(*) FILTER (WHERE status_code >= 400) AS error_count
      FROM staging.activity_api_logs
     WHERE ds = %(ds)s
     GROUP BY user_pseudo_id
),
vanished AS (
    DELETE FROM mart.activity_requests_per_user AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM per_user AS p WHERE p.user_pseudo_id = m.user_pseudo_id)
)
INSERT INTO mart.activity_requests_per_user AS m (ds, user_pseudo_id, request_count, error_count)
SELECT %(ds)s, user_pseudo_id, request_count, error_count
  FROM per_user
ON CONFLICT (ds, user_pseudo_id) DO UPDATE
   SET request_count = EXCLUDED.request_count, error_count = EXCLUDED.error_count
 WHERE (m.request_count, m.error_count) IS DISTINCT FROM (EXCLUDED.request_count, EXCLUDED.error_count);

SELECT count(*) FROM mart.activity_requests_per_user WHERE ds = %(ds)s;
