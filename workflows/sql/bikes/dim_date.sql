-- dim_date ← a generated calendar: every day from the earliest to the latest date that the orders
-- loaded for %(ds)s mention (order, due, ship dates), the calendar already built, and ds itself, so
-- it never has gaps. Only missing days are inserted: re-runs change nothing.

WITH bounds AS (
    SELECT min(orderdate)::date AS first_day, max(greatest(orderdate, duedate, shipdate))::date AS last_day
      FROM staging.bikes_salesorderheader
     WHERE ds = %(ds)s
    UNION ALL
    SELECT min(date), max(date) FROM bikes.dim_date
    UNION ALL
    SELECT %(ds)s::date, %(ds)s::date
),
days AS (
    SELECT day::date AS date
      FROM generate_series((SELECT min(first_day) FROM bounds), (SELECT max(last_day) FROM bounds),
                           interval '1 day') AS day
)
INSERT INTO bikes.dim_date (date_key, date, year, quarter, month, month_name, day_of_month, day_of_week, day_name,
                            week_of_year, is_weekend)
SELECT to_char(date, 'YYYYMMDD')::integer,
       date,
       extract(year FROM date)::integer,
       extract(quarter FROM date)::integer,
       extract(month FROM date)::integer,
       to_char(date, 'FMMonth'),
       extract(day FROM date)::integer,
       extract(isodow FROM date)::integer,
       to_char(date, 'FMDay'),
       extract(week FROM date)::integer,
       extract(isodow FROM date) >= 6
  FROM days
ON CONFLICT (date_key) DO NOTHING;

SELECT count(*) FROM bikes.dim_date WHERE date_key <> -1;
