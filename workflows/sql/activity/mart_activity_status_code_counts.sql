-- activity_status_code_counts ← staging.activity_api_logs for %(ds)s.
-- Grain: (ds, status_code), with its response class. request_count sums to the
-- staged rows. Merge as in activity_action_counts.

WITH counted AS (
    SELECT status_code,
           min(response_class) AS response_class,   -- one class per code (derived from it)
           count(*)            AS request_count
      FROM staging.activity_api_logs
     WHERE ds = %(ds)s
     GROUP BY status_code
),
vanished AS (
    DELETE FROM mart.activity_status_code_counts AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM counted AS c WHERE c.status_code = m.status_code)
)
INSERT INTO mart.activity_status_code_counts AS m (ds, status_code, response_class, request_count)
SELECT %(ds)s, status_code, response_class, request_count
  FROM counted
ON CONFLICT (ds, status_code) DO UPDATE
   SET response_class = EXCLUDED.response_class, request_count = EXCLUDED.request_count
 WHERE (m.response_class, m.request_count) IS DISTINCT FROM (EXCLUDED.response_class, EXCLUDED.request_count);

SELECT count(*) FROM mart.activity_status_code_counts WHERE ds = %(ds)s;
