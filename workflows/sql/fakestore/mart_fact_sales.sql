-- fact_sales ← staging.fakestore_carts ⋈ staging.fakestore_products, both for %(ds)s.
-- Grain: cart line (cart_id, product_id). unit_price is the product's price in
-- the ds snapshot; line_total = quantity × unit_price. Merge for the ds: lines
-- that vanished from the partition are deleted, changed lines updated, new
-- lines inserted; unchanged lines are not touched (re-runs change nothing).

-- ── drop lines of this ds that the current partition no longer has ─────────
DELETE FROM mart.fact_sales AS f
 WHERE f.ds = %(ds)s
   AND NOT EXISTS (SELECT 1
                     FROM staging.fakestore_carts AS c
                    WHERE c.ds = %(ds)s AND c.cart_id = f.cart_id AND c.product_id = f.product_id);

-- ── upsert the partition's lines ───────────────────────────────────────────
WITH lines AS (
    SELECT c.cart_id, c.product_id, c.user_id, c.ordered_at, c.order_date, c.quantity,
           p.price AS unit_price, c.ds
      FROM staging.fakestore_carts AS c
      LEFT JOIN staging.fakestore_products AS p
             ON p.ds = c.ds AND p.product_id = c.product_id
     WHERE c.ds = %(ds)s
)
INSERT INTO mart.fact_sales AS f
       (cart_id, product_id, user_id, ordered_at, order_date, quantity, unit_price, line_total, ds)
SELECT cart_id, product_id, user_id, ordered_at, order_date, quantity, unit_price,
       quantity * unit_price, ds
  FROM lines
ON CONFLICT (cart_id, product_id) DO UPDATE
   SET user_id = EXCLUDED.user_id, ordered_at = EXCLUDED.ordered_at, order_date = EXCLUDED.order_date,
       quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price, line_total = EXCLUDED.line_total,
       ds = EXCLUDED.ds
 WHERE (f.user_id, f.ordered_at, f.order_date, f.quantity, f.unit_price, f.line_total, f.ds)
       IS DISTINCT FROM
       (EXCLUDED.user_id, EXCLUDED.ordered_at, EXCLUDED.order_date, EXCLUDED.quantity, EXCLUDED.unit_price,
        EXCLUDED.line_total, EXCLUDED.ds);

SELECT count(*) FROM mart.fact_sales WHERE ds = %(ds)s;
