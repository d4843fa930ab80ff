-- dim_date ← a generated calendar: every day from the earliest to the latest date that the orders
-- loaded for %(ds)s mention (order, due, ship dates), the calendar already built, and ds itself, so
-- it never has gaps. On a full build (salesorderheader's extract for ds was a full load) the bounds
-- are those of every staged order, and every day's attributes are recomputed: a day whose row
-- differs is rewritten. Otherwise only missing days are inserted: re-runs change nothing.

WITH bounds AS (
    SELECT min(orderdate)::date AS first_day, max(greatest(orderdate, duedate, shipdate))::date AS last_day
      FROM staging.bikes_salesorderheader
     WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'salesorderheader', %(ds)s))
    UNION ALL
    SELECT min(date), max(date) FROM bikes.dim_date
    UNION ALL
    SELECT %(ds)s::date, %(ds)s::date
),
days AS (
    SELECT day::date AS date
      FROM generate_series((SELECT min(first_day) FROM bounds), (SELECT max(last_day) FROM bounds),
                           interval '1 day') AS day
),
calendar AS (
    SELECT to_char(date, 'YYYYMMDD')::integer AS date_key,
           date,
           extract(year FROM date)::integer AS year,
           extract(quarter FROM date)::integer AS quarter,
           extract(month FROM date)::integer AS month,
           to_char(date, 'FMMonth') AS month_name,
           extract(day FROM date)::integer AS day_of_month,
           extract(isodow FROM date)::integer AS day_of_week,
           to_char(date, 'FMDay') AS day_name,
           extract(week FROM date)::integer AS week_of_year,
           extract(isodow FROM date) >= 6 AS is_weekend
      FROM days
)
INSERT INTO bikes.dim_date AS d (date_key, date, year, quarter, month, month_name, day_of_month, day_of_week,
                                 day_name, week_of_year, is_weekend)
SELECT * FROM calendar
ON CONFLICT (date_key) DO UPDATE
   SET date = EXCLUDED.date, year = EXCLUDED.year, quarter = EXCLUDED.quarter, month = EXCLUDED.month,
       month_name = EXCLUDED.month_name, day_of_month = EXCLUDED.day_of_month, day_of_week = EXCLUDED.day_of_week,
       day_name = EXCLUDED.day_name, week_of_year = EXCLUDED.week_of_year, is_weekend = EXCLUDED.is_weekend
 WHERE (SELECT etl.is_full_load('bikes', 'salesorderheader', %(ds)s))
   AND (d.date, d.year, d.quarter, d.month, d.month_name, d.day_of_month, d.day_of_week, d.day_name,
        d.week_of_year, d.is_weekend)
       IS DISTINCT FROM
       (EXCLUDED.date, EXCLUDED.year, EXCLUDED.quarter, EXCLUDED.month, EXCLUDED.month_name,
        EXCLUDED.day_of_month, EXCLUDED.day_of_week, EXCLUDED.day_name, EXCLUDED.week_of_year,
        EXCLUDED.is_weekend);

SELECT count(*) FROM bikes.dim_date WHERE date_key <> -1;
