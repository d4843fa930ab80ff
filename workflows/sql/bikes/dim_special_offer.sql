-- dim_special_offer ← staging specialoffer rows changed on %(ds)s (every row when its extract for ds was a
-- full load). Type 1; a member deleted in the source is closed (is_current false, deleted_at), never
-- removed; unchanged rows untouched.

MERGE INTO bikes.dim_special_offer AS d
USING (SELECT specialofferid AS special_offer_key, specialofferid AS special_offer_id, description,
              discountpct AS discount_pct, type AS offer_type, category, startdate AS starts_at, enddate AS ends_at,
              minqty AS min_qty, maxqty AS max_qty, modifieddate AS modified_at, ds, deleted_at,
              deleted_at IS NULL AS is_current
         FROM staging.bikes_specialoffer
        WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'specialoffer', %(ds)s))) AS s
   ON d.special_offer_key = s.special_offer_key
WHEN MATCHED AND (d.description, d.discount_pct, d.offer_type, d.category, d.starts_at, d.ends_at, d.min_qty,
                  d.max_qty, d.modified_at, d.ds, d.is_current, d.deleted_at)
                 IS DISTINCT FROM
                 (s.description, s.discount_pct, s.offer_type, s.category, s.starts_at, s.ends_at, s.min_qty,
                  s.max_qty, s.modified_at, s.ds, s.is_current, s.deleted_at) THEN
    UPDATE SET description = s.description, discount_pct = s.discount_pct, offer_type = s.offer_type,
               category = s.category, starts_at = s.starts_at, ends_at = s.ends_at, min_qty = s.min_qty,
               max_qty = s.max_qty, modified_at = s.modified_at, ds = s.ds,
               is_current = s.is_current, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (special_offer_key, special_offer_id, description, discount_pct, offer_type, category, starts_at, ends_at,
            min_qty, max_qty, modified_at, ds, is_current, deleted_at)
    VALUES (s.special_offer_key, s.special_offer_id, s.description, s.discount_pct, s.offer_type, s.category,
            s.starts_at, s.ends_at, s.min_qty, s.max_qty, s.modified_at, s.ds, s.is_current, s.deleted_at);

SELECT count(*) FROM bikes.dim_special_offer WHERE ds = %(ds)s;
