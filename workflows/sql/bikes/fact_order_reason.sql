-- fact_order_reason ← staging salesorderheadersalesreason (order × sales reason) ⋈ its header, for links
-- changed on %(ds)s or whose order's header changed then (every link when the links' extract for ds was
-- a full load). A reason or customer not in staging maps to the unknown member (-1). A link or order
-- deleted in the source (flagged deleted_at in staging) leaves the table. Unchanged rows are untouched:
-- re-runs change nothing.

DELETE FROM bikes.fact_order_reason AS f
 WHERE f.sales_order_id IN (SELECT salesorderid FROM staging.bikes_salesorderheader
                             WHERE ds = %(ds)s AND deleted_at IS NOT NULL)
    OR (f.sales_order_id, f.sales_reason_id) IN (SELECT salesorderid, salesreasonid
                                                   FROM staging.bikes_salesorderheadersalesreason
                                                  WHERE ds = %(ds)s AND deleted_at IS NOT NULL);

WITH touched AS (
    SELECT salesorderid, salesreasonid FROM staging.bikes_salesorderheadersalesreason
     WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'salesorderheadersalesreason', %(ds)s))
    UNION
    SELECT r.salesorderid, r.salesreasonid
      FROM staging.bikes_salesorderheadersalesreason AS r
      JOIN staging.bikes_salesorderheader AS h ON h.salesorderid = r.salesorderid
     WHERE h.ds = %(ds)s
)
INSERT INTO bikes.fact_order_reason AS f
       (sales_order_id, sales_reason_id, sales_reason_key, order_date_key, customer_key, modified_at, ds)
SELECT r.salesorderid,
       r.salesreasonid,
       coalesce(sr.salesreasonid, -1),
       coalesce(to_char(h.orderdate, 'YYYYMMDD')::integer, -1),
       coalesce(c.customerid, -1),
       r.modifieddate,
       r.ds
  FROM touched AS t
  JOIN staging.bikes_salesorderheadersalesreason AS r USING (salesorderid, salesreasonid)
  LEFT JOIN staging.bikes_salesorderheader AS h ON h.salesorderid = r.salesorderid
  LEFT JOIN staging.bikes_salesreason AS sr ON sr.salesreasonid = r.salesreasonid
  LEFT JOIN staging.bikes_customer AS c ON c.customerid = h.customerid
 WHERE r.deleted_at IS NULL AND h.deleted_at IS NULL
ON CONFLICT (sales_order_id, sales_reason_id) DO UPDATE
   SET sales_reason_key = EXCLUDED.sales_reason_key, order_date_key = EXCLUDED.order_date_key,
       customer_key = EXCLUDED.customer_key, modified_at = EXCLUDED.modified_at, ds = EXCLUDED.ds
 WHERE (f.sales_reason_key, f.order_date_key, f.customer_key, f.modified_at, f.ds)
       IS DISTINCT FROM
       (EXCLUDED.sales_reason_key, EXCLUDED.order_date_key, EXCLUDED.customer_key, EXCLUDED.modified_at,
        EXCLUDED.ds);

SELECT count(*) FROM bikes.fact_order_reason WHERE ds = %(ds)s;
