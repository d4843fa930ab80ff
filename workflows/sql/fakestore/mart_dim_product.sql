-- dim_product ← staging.fakestore_products for %(ds)s (a snapshot as of ds).
-- Idempotent and order-independent: attributes come from the newest snapshot
-- seen (last_seen_ds), first_seen_ds is the oldest; unchanged rows are not touched.

-- ── an older ds run after a newer one only moves first_seen_ds back ────────
UPDATE mart.dim_product AS d
   SET first_seen_ds = %(ds)s
  FROM staging.fakestore_products AS s
 WHERE s.ds = %(ds)s AND s.product_id = d.product_id AND d.first_seen_ds > %(ds)s;

-- ── upsert the snapshot where it is at least as new as the row ─────────────
INSERT INTO mart.dim_product AS d
       (product_id, title, price, description, category, image_url, rating_rate, rating_count,
        first_seen_ds, last_seen_ds)
SELECT product_id, title, price, description, category, image_url, rating_rate, rating_count,
       ds, ds
  FROM staging.fakestore_products
 WHERE ds = %(ds)s
ON CONFLICT (product_id) DO UPDATE
   SET title = EXCLUDED.title, price = EXCLUDED.price, description = EXCLUDED.description,
       category = EXCLUDED.category, image_url = EXCLUDED.image_url,
       rating_rate = EXCLUDED.rating_rate, rating_count = EXCLUDED.rating_count,
       last_seen_ds = EXCLUDED.last_seen_ds
 WHERE d.last_seen_ds <= EXCLUDED.last_seen_ds
   AND (d.title, d.price, d.description, d.category, d.image_url, d.rating_rate, d.rating_count, d.last_seen_ds)
       IS DISTINCT FROM
       (EXCLUDED.title, EXCLUDED.price, EXCLUDED.description, EXCLUDED.category, EXCLUDED.image_url,
        EXCLUDED.rating_rate, EXCLUDED.rating_count, EXCLUDED.last_seen_ds);

SELECT count(*) FROM staging.fakestore_products WHERE ds = %(ds)s;
