-- dim_user ← staging.fakestore_users for %(ds)s (a snapshot as of ds).
-- Same contract as dim_product: newest snapshot wins, unchanged rows untouched.

-- ── an older ds run after a newer one only moves first_seen_ds back ────────
UPDATE mart.dim_user AS d
   SET first_seen_ds = %(ds)s
  FROM staging.fakestore_users AS s
 WHERE s.ds = %(ds)s AND s.user_id = d.user_id AND d.first_seen_ds > %(ds)s;

-- ── upsert the snapshot where it is at least as new as the row ─────────────
INSERT INTO mart.dim_user AS d
       (user_id, email, username, first_name, last_name, city, street, street_number, zipcode,
        latitude, longitude, phone, first_seen_ds, last_seen_ds)
SELECT user_id, email, username, first_name, last_name, city, street, street_number, zipcode,
       latitude, longitude, phone, ds, ds
  FROM staging.fakestore_users
 WHERE ds = %(ds)s
ON CONFLICT (user_id) DO UPDATE
   SET email = EXCLUDED.email, username = EXCLUDED.username, first_name = EXCLUDED.first_name,
       last_name = EXCLUDED.last_name, city = EXCLUDED.city, street = EXCLUDED.street,
       street_number = EXCLUDED.street_number, zipcode = EXCLUDED.zipcode,
       latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, phone = EXCLUDED.phone,
       last_seen_ds = EXCLUDED.last_seen_ds
 WHERE d.last_seen_ds <= EXCLUDED.last_seen_ds
   AND (d.email, d.username, d.first_name, d.last_name, d.city, d.street, d.street_number, d.zipcode,
        d.latitude, d.longitude, d.phone, d.last_seen_ds)
       IS DISTINCT FROM
       (EXCLUDED.email, EXCLUDED.username, EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.city,
        EXCLUDED.street, EXCLUDED.street_number, EXCLUDED.zipcode, EXCLUDED.latitude, EXCLUDED.longitude,
        EXCLUDED.phone, EXCLUDED.last_seen_ds);

SELECT count(*) FROM staging.fakestore_users WHERE ds = %(ds)s;
