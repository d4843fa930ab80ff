-- Check outcomes of the ds's latest check run of one pipeline, per status (all four listed).
SELECT s.status, count(r.status) AS checks
  FROM (VALUES (1, 'pass'), (2, 'warn'), (3, 'fail'), (4, 'error')) AS s (rank, status)
  LEFT JOIN (SELECT r.status
               FROM etl.dq_results AS r
               JOIN etl.dq_latest_runs AS l USING (ds, pipeline, run_id)
              WHERE r.ds = %(ds)s AND r.pipeline = %(pipeline)s) AS r USING (status)
 GROUP BY s.rank, s.status
 ORDER BY s.rank;
