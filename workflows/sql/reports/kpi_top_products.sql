-- The ds's best-selling products by revenue, top %(top)s.
SELECT f.product_id,
       p.title,
       p.category,
       sum(f.quantity)             AS items,
       sum(f.line_total)           AS revenue,
       count(DISTINCT f.cart_id)   AS orders
  FROM mart.fact_sales AS f
  LEFT JOIN mart.dim_product AS p USING (product_id)
 WHERE f.ds = %(ds)s
 GROUP BY f.product_id, p.title, p.category
 ORDER BY revenue DESC, f.product_id
 LIMIT %(top)s;
