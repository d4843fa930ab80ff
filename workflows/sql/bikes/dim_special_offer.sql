-- dim_special_offer ← staging specialoffer rows changed on %(ds)s. Type 1; unchanged rows untouched.

MERGE INTO bikes.dim_special_offer AS d
USING (SELECT specialofferid AS special_offer_key, specialofferid AS special_offer_id, description,
              discountpct AS discount_pct, type AS offer_type, category, startdate AS starts_at, enddate AS ends_at,
              minqty AS min_qty, maxqty AS max_qty, modifieddate AS modified_at, ds
         FROM staging.bikes_specialoffer
        WHERE ds = %(ds)s) AS s
   ON d.special_offer_key = s.special_offer_key
WHEN MATCHED AND (d.description, d.discount_pct, d.offer_type, d.category, d.starts_at, d.ends_at, d.min_qty,
                  d.max_qty, d.modified_at, d.ds)
                 IS DISTINCT FROM
                 (s.description, s.discount_pct, s.offer_type, s.category, s.starts_at, s.ends_at, s.min_qty,
                  s.max_qty, s.modified_at, s.ds) THEN
    UPDATE SET description = s.description, discount_pct = s.discount_pct, offer_type = s.offer_type,
               category = s.category, starts_at = s.starts_at, ends_at = s.ends_at, min_qty = s.min_qty,
               max_qty = s.max_qty, modified_at = s.modified_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (special_offer_key, special_offer_id, description, discount_pct, offer_type, category, starts_at, ends_at,
            min_qty, max_qty, modified_at, ds)
    VALUES (s.special_offer_key, s.special_offer_id, s.description, s.discount_pct, s.offer_type, s.category,
            s.starts_at, s.ends_at, s.min_qty, s.max_qty, s.modified_at, s.ds);

SELECT count(*) FROM bikes.dim_special_offer WHERE ds = %(ds)s;
