-- The ds's cart lines by unit-price band: lines and items per band (every band listed).
-- Bands are [low, high) in the shop's currency; the last one is open-ended.
WITH bands (band_no, low, high) AS (
    VALUES (1, 0, 10), (2, 10, 25), (3, 25, 50), (4, 50, 100), (5, 100, 250), (6, 250, 500),
           (7, 500, 1000), (8, 1000, NULL)
),
lines AS (
    SELECT unit_price, quantity FROM mart.fact_sales WHERE ds = %(ds)s
)
SELECT b.band_no,
       CASE WHEN b.high IS NULL THEN b.low || '+' ELSE b.low || '–' || b.high END AS price_band,
       count(l.unit_price)                AS cart_lines,
       coalesce(sum(l.quantity), 0)       AS items
  FROM bands AS b
  LEFT JOIN lines AS l
         ON l.unit_price >= b.low AND (b.high IS NULL OR l.unit_price < b.high)
 GROUP BY b.band_no, b.low, b.high
 ORDER BY b.band_no;
