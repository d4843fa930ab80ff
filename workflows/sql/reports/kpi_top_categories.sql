-- The ds's revenue by product category (dim_product: the newest snapshot's category), top %(top)s.
SELECT coalesce(p.category, '(unknown)')      AS category,
       sum(f.line_total)                      AS revenue,
       sum(f.quantity)                        AS items,
       count(DISTINCT f.cart_id)              AS orders
  FROM mart.fact_sales AS f
  LEFT JOIN mart.dim_product AS p USING (product_id)
 WHERE f.ds = %(ds)s
 GROUP BY 1
 ORDER BY revenue DESC, category
 LIMIT %(top)s;
