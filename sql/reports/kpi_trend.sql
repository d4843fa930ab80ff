-- Daily KPIs for the %(days)s days ending at ds (every date listed; a date without sales has 0 orders).
WITH days AS (
    SELECT d::date AS ds
      FROM generate_series(%(ds)s::date - (%(days)s - 1), %(ds)s::date, interval '1 day') AS d
),
daily AS (
    SELECT ds, sum(line_total) AS revenue, count(DISTINCT cart_id) AS orders, sum(quantity) AS items
      FROM mart.fact_sales
     WHERE ds BETWEEN %(ds)s::date - (%(days)s - 1) AND %(ds)s
     GROUP BY ds
)
SELECT days.ds,
       coalesce(daily.revenue, 0)                          AS revenue,
       coalesce(daily.orders, 0)                           AS orders,
       coalesce(daily.items, 0)                            AS items,
       round(daily.revenue / nullif(daily.orders, 0), 2)   AS aov
  FROM days
  LEFT JOIN daily USING (ds)
 ORDER BY days.ds;
