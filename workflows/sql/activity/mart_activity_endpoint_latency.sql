-- activity_endpoint_latency ← staging.activity_api_logs for %(ds)s.
-- Grain: (ds, endpoint, method). Average, median and 95th percentile response time
-- (percentile_cont: linear interpolation between the two nearest values), in ms rounded
-- to 3 decimals (numeric(12, 3)). Merge as in activity_action_counts.

WITH latency AS (
    SELECT endpoint, method,
           count(*)                                   AS request_count,
           round(avg(response_time_ms), 3)            AS avg_response_time_ms,
           round(percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms::double precision)::numeric, 3)
                                                      AS p50_response_time_ms,
           round(percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms::double precision)::numeric, 3)
                                                      AS p95_response_time_ms
      FROM staging.activity_api_logs
     WHERE ds = %(ds)s
     GROUP BY endpoint, method
),
vanished AS (
    DELETE FROM mart.activity_endpoint_latency AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM latency AS l WHERE l.endpoint = m.endpoint AND l.method = m.method)
)
INSERT INTO mart.activity_endpoint_latency AS m
       (ds, endpoint, method, request_count, avg_response_time_ms, p50_response_time_ms, p95_response_time_ms)
SELECT %(ds)s, endpoint, method, request_count, avg_response_time_ms, p50_response_time_ms, p95_response_time_ms
  FROM latency
ON CONFLICT (ds, endpoint, method) DO UPDATE
   SET request_count = EXCLUDED.request_count,
       avg_response_time_ms = EXCLUDED.avg_response_time_ms,
       p50_response_time_ms = EXCLUDED.p50_response_time_ms,
       p95_response_time_ms = EXCLUDED.p95_response_time_ms
 WHERE (m.request_count, m.avg_response_time_ms, m.p50_response_time_ms, m.p95_response_time_ms)
       IS DISTINCT FROM
       (EXCLUDED.request_count, EXCLUDED.avg_response_time_ms, EXCLUDED.p50_response_time_ms,
        EXCLUDED.p95_response_time_ms);

SELECT count(*) FROM mart.activity_endpoint_latency WHERE ds = %(ds)s;
