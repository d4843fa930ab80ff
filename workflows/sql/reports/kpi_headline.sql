-- Headline KPIs of one ds from mart.fact_sales (cart-line grain).
-- Orders are carts (distinct cart_id), not cart lines; AOV = revenue / orders.
WITH lines AS (
    SELECT cart_id, product_id, user_id, quantity, line_total
      FROM mart.fact_sales
     WHERE ds = %(ds)s
)
SELECT coalesce(sum(line_total), 0)                                        AS revenue,
       count(DISTINCT cart_id)                                             AS orders,
       coalesce(sum(quantity), 0)                                          AS items,
       count(DISTINCT product_id)                                          AS unique_products,
       count(DISTINCT user_id)                                             AS customers,
       count(*)                                                            AS cart_lines,
       round(coalesce(sum(line_total), 0) / nullif(count(DISTINCT cart_id), 0), 2) AS aov
  FROM lines;
