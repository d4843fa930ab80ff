-- dim_sales_reason ← staging salesreason rows changed on %(ds)s. Type 1; unchanged rows untouched.

MERGE INTO bikes.dim_sales_reason AS d
USING (SELECT salesreasonid AS sales_reason_key, salesreasonid AS sales_reason_id, name,
              reasontype AS reason_type, modifieddate AS modified_at, ds
         FROM staging.bikes_salesreason
        WHERE ds = %(ds)s) AS s
   ON d.sales_reason_key = s.sales_reason_key
WHEN MATCHED AND (d.name, d.reason_type, d.modified_at, d.ds)
                 IS DISTINCT FROM (s.name, s.reason_type, s.modified_at, s.ds) THEN
    UPDATE SET name = s.name, reason_type = s.reason_type, modified_at = s.modified_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (sales_reason_key, sales_reason_id, name, reason_type, modified_at, ds)
    VALUES (s.sales_reason_key, s.sales_reason_id, s.name, s.reason_type, s.modified_at, s.ds);

SELECT count(*) FROM bikes.dim_sales_reason WHERE ds = %(ds)s;
