-- dim_sales_reason ← staging salesreason rows changed on %(ds)s (every row when its extract for ds was a
-- full load). Type 1; a member deleted in the source is closed (is_current false, deleted_at), never
-- removed; unchanged rows untouched.

MERGE INTO bikes.dim_sales_reason AS d
USING (SELECT salesreasonid AS sales_reason_key, salesreasonid AS sales_reason_id, name,
              reasontype AS reason_type, modifieddate AS modified_at, ds, deleted_at,
              deleted_at IS NULL AS is_current
         FROM staging.bikes_salesreason
        WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'salesreason', %(ds)s))) AS s
   ON d.sales_reason_key = s.sales_reason_key
WHEN MATCHED AND (d.name, d.reason_type, d.modified_at, d.ds, d.is_current, d.deleted_at)
                 IS DISTINCT FROM (s.name, s.reason_type, s.modified_at, s.ds, s.is_current, s.deleted_at) THEN
    UPDATE SET name = s.name, reason_type = s.reason_type, modified_at = s.modified_at, ds = s.ds,
               is_current = s.is_current, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (sales_reason_key, sales_reason_id, name, reason_type, modified_at, ds, is_current, deleted_at)
    VALUES (s.sales_reason_key, s.sales_reason_id, s.name, s.reason_type, s.modified_at, s.ds, s.is_current, s.deleted_at);

SELECT count(*) FROM bikes.dim_sales_reason WHERE ds = %(ds)s;
