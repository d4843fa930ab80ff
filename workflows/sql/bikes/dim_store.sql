-- dim_store ← staging store rows changed on %(ds)s (every row when its extract for ds was a full load).
-- Type 1; a member deleted in the source is closed (is_current false, deleted_at), never removed; unchanged
-- rows untouched.

MERGE INTO bikes.dim_store AS d
USING (SELECT businessentityid AS store_key, businessentityid AS store_id, name, salespersonid AS sales_person_id,
              modifieddate AS modified_at, ds, deleted_at,
              deleted_at IS NULL AS is_current
         FROM staging.bikes_store
        WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'store', %(ds)s))) AS s
   ON d.store_key = s.store_key
WHEN MATCHED AND (d.name, d.sales_person_id, d.modified_at, d.ds, d.is_current, d.deleted_at)
                 IS DISTINCT FROM (s.name, s.sales_person_id, s.modified_at, s.ds, s.is_current, s.deleted_at) THEN
    UPDATE SET name = s.name, sales_person_id = s.sales_person_id, modified_at = s.modified_at, ds = s.ds,
               is_current = s.is_current, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (store_key, store_id, name, sales_person_id, modified_at, ds, is_current, deleted_at)
    VALUES (s.store_key, s.store_id, s.name, s.sales_person_id, s.modified_at, s.ds, s.is_current, s.deleted_at);

SELECT count(*) FROM bikes.dim_store WHERE ds = %(ds)s;
