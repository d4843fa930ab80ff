-- Daily KPIs for the %(days)s days ending at ds. Every date is listed: a date whose fact_sales
-- partition was loaded (a marker exists) has its numbers, 0 orders when it had no sales; a date
-- not loaded (yet) has NULLs, so a chart shows a gap rather than a false zero.
WITH days AS (
    SELECT d::date AS ds
      FROM generate_series(%(ds)s::date - (%(days)s - 1), %(ds)s::date, interval '1 day') AS d
),
loaded AS (
    SELECT ds
      FROM etl.partition_markers
     WHERE target = 'mart/fakestore/fact_sales'
       AND ds BETWEEN %(ds)s::date - (%(days)s - 1) AND %(ds)s
),
daily AS (
    SELECT ds, sum(line_total) AS revenue, count(DISTINCT cart_id) AS orders, sum(quantity) AS items
      FROM mart.fact_sales
     WHERE ds BETWEEN %(ds)s::date - (%(days)s - 1) AND %(ds)s
     GROUP BY ds
)
SELECT days.ds,
       CASE WHEN loaded.ds IS NOT NULL THEN coalesce(daily.revenue, 0) END   AS revenue,
       CASE WHEN loaded.ds IS NOT NULL THEN coalesce(daily.orders, 0) END    AS orders,
       CASE WHEN loaded.ds IS NOT NULL THEN coalesce(daily.items, 0) END     AS items,
       round(daily.revenue / nullif(daily.orders, 0), 2)                     AS aov
  FROM days
  LEFT JOIN loaded USING (ds)
  LEFT JOIN daily USING (ds)
 ORDER BY days.ds;
