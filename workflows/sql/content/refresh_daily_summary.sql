-- daily_summary: refresh the materialized view after the %(ds)s marts, without blocking readers.
-- CONCURRENTLY builds the new contents beside the old and applies only the differences under an
-- EXCLUSIVE lock, which still admits SELECTs; unchanged rows are not rewritten. It needs the
-- unique index daily_summary_key and runs inside the task's transaction, with its marker.
REFRESH MATERIALIZED VIEW CONCURRENTLY mart.daily_summary;

SELECT count(*) FROM mart.daily_summary WHERE summary_date = %(ds)s;
