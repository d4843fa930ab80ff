-- dim_store ← staging store rows changed on %(ds)s. Type 1; unchanged rows untouched.

MERGE INTO bikes.dim_store AS d
USING (SELECT businessentityid AS store_key, businessentityid AS store_id, name, salespersonid AS sales_person_id,
              modifieddate AS modified_at, ds
         FROM staging.bikes_store
        WHERE ds = %(ds)s) AS s
   ON d.store_key = s.store_key
WHEN MATCHED AND (d.name, d.sales_person_id, d.modified_at, d.ds)
                 IS DISTINCT FROM (s.name, s.sales_person_id, s.modified_at, s.ds) THEN
    UPDATE SET name = s.name, sales_person_id = s.sales_person_id, modified_at = s.modified_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (store_key, store_id, name, sales_person_id, modified_at, ds)
    VALUES (s.store_key, s.store_id, s.name, s.sales_person_id, s.modified_at, s.ds);

SELECT count(*) FROM bikes.dim_store WHERE ds = %(ds)s;
