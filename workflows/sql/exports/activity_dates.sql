-- The event dates other than %(ds)s whose activity mart rows the files of %(ds)s changed: the
-- dates its staged rows fall on, and those of rows a re-load of %(ds)s deleted (a replaced
-- version's events). Both tables are keyed (entity, ds, event_date): a few index reads.
SELECT event_date
  FROM staging.activity_file_dates
 WHERE entity IN ('user_activities', 'api_logs') AND ds = %(ds)s AND event_date <> %(ds)s
 UNION
SELECT event_date
  FROM staging.activity_replaced
 WHERE entity IN ('user_activities', 'api_logs') AND ds = %(ds)s AND event_date <> %(ds)s
 ORDER BY 1;
