-- activity_endpoint_latency ← staging.activity_api_logs (every file), for exactly the
-- (event date, endpoint, method) groups the %(ds)s file touches.
--
-- Grain: (ds = UTC event date, endpoint, method). Average, median and 95th percentile response
-- time (percentile_cont: linear interpolation between the two nearest values; both from one
-- sort of the group, as an array of fractions), in ms rounded to 3 decimals (numeric(12, 3)).
-- Late events are exact: a touched group is recomputed from every file's rows of that group,
-- never incremented, so a request counts once, in its own date, whatever the order of runs.
-- One pass over the rows of the file's event dates; groups kept and merged as in
-- activity_status_code_counts.
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
latency AS (
    SELECT e.event_date, e.endpoint, e.method,
           count(*)                                   AS request_count,
           round(avg(e.response_time_ms), 3)          AS avg_response_time_ms,
           percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY e.response_time_ms::double precision)
                                                      AS percentiles
      FROM staging.activity_api_logs AS e
     WHERE e.event_date = ANY (ARRAY(SELECT event_date FROM dates))
     GROUP BY e.event_date, e.endpoint, e.method
    HAVING bool_or(e.ds = %(ds)s) OR e.event_date IN (SELECT event_date FROM replaced)
),
recomputed AS (
    SELECT event_date, endpoint, method, request_count, avg_response_time_ms,
           round(percentiles[1]::numeric, 3) AS p50_response_time_ms,
           round(percentiles[2]::numeric, 3) AS p95_response_time_ms
      FROM latency
),
vanished AS (
    DELETE FROM mart.activity_endpoint_latency AS m
     WHERE m.ds IN (SELECT event_date FROM replaced)
       AND NOT EXISTS (SELECT 1 FROM recomputed AS r
                        WHERE r.event_date = m.ds AND r.endpoint = m.endpoint AND r.method = m.method)
)
INSERT INTO mart.activity_endpoint_latency AS m
       (ds, endpoint, method, request_count, avg_response_time_ms, p50_response_time_ms, p95_response_time_ms)
SELECT event_date, endpoint, method, request_count, avg_response_time_ms, p50_response_time_ms, p95_response_time_ms
  FROM recomputed
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
