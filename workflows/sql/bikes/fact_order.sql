-- fact_order ← staging order lines ⋈ their header, for every order whose header or any line changed
-- on %(ds)s (every order when the lines' or headers' extract for ds was a full load). Grain: order line.
-- Dimension keys are resolved from staging (a dimension's key is its source id; product_key is the
-- dim_product version valid at the order date); a NULL or unknown reference maps to the unknown member
-- (-1; currency 'XXX'), so no line is dropped. An order without a currency rate is in USD, the rates'
-- base currency. A line or order deleted in the source (flagged deleted_at in staging) leaves the fact
-- table, and the header's amounts are allocated over the lines that remain. Unchanged lines are
-- untouched: re-runs change nothing.

-- ── lines of products whose price history changed on ds move to the version valid at their order date ──
-- (only needed when a version arrives out of order; a no-op otherwise; keys themselves never change)
UPDATE bikes.fact_order AS f
   SET product_key = v.product_key
  FROM staging.bikes_salesorderdetail AS d
  JOIN staging.bikes_salesorderheader AS h ON h.salesorderid = d.salesorderid
  JOIN bikes.dim_product AS v
    ON v.product_id = d.productid AND h.orderdate < v.valid_to AND (h.orderdate >= v.valid_from OR v.version = 1)
 WHERE f.sales_order_id = d.salesorderid
   AND f.sales_order_detail_id = d.salesorderdetailid
   AND d.productid IN (SELECT productid FROM staging.bikes_product_history WHERE ds = %(ds)s)
   AND f.product_key <> v.product_key;

-- ── lines and orders deleted in the source leave the fact table ────────────
DELETE FROM bikes.fact_order AS f
 WHERE f.sales_order_id IN (SELECT salesorderid FROM staging.bikes_salesorderheader
                             WHERE ds = %(ds)s AND deleted_at IS NOT NULL)
    OR (f.sales_order_id, f.sales_order_detail_id) IN (SELECT salesorderid, salesorderdetailid
                                                         FROM staging.bikes_salesorderdetail
                                                        WHERE ds = %(ds)s AND deleted_at IS NOT NULL);

-- ── upsert the lines of the orders touched on ds ───────────────────────────
WITH touched AS (
    SELECT salesorderid FROM staging.bikes_salesorderheader
     WHERE (ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'salesorderheader', %(ds)s))) AND deleted_at IS NULL
    UNION
    SELECT salesorderid FROM staging.bikes_salesorderdetail
     WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'salesorderdetail', %(ds)s))
),
lines AS (
    SELECT d.salesorderid, d.salesorderdetailid, d.productid, d.specialofferid, d.orderqty, d.unitprice,
           d.unitpricediscount, coalesce(d.linetotal, 0) AS linetotal, d.modifieddate AS line_modified_at, d.ds,
           h.orderdate, h.duedate, h.shipdate, h.status, h.onlineorderflag, h.customerid, h.salespersonid,
           h.territoryid, h.shipmethodid, h.currencyrateid, h.subtotal, h.taxamt, h.freight,
           h.modifieddate AS header_modified_at,
           sum(coalesce(d.linetotal, 0)) OVER o AS order_lines_total,
           count(*) OVER o AS order_lines,
           row_number() OVER (PARTITION BY d.salesorderid ORDER BY d.salesorderdetailid DESC) = 1 AS is_last
      FROM touched AS t
      JOIN staging.bikes_salesorderdetail AS d ON d.salesorderid = t.salesorderid AND d.deleted_at IS NULL
      LEFT JOIN staging.bikes_salesorderheader AS h ON h.salesorderid = d.salesorderid
     WHERE h.deleted_at IS NULL
    WINDOW o AS (PARTITION BY d.salesorderid)
),
shares AS (            -- the header amounts rounded to each line's share of the order
    SELECT l.*,
           round(l.subtotal * s.share, 4) AS subtotal_share,
           round(l.taxamt * s.share, 4) AS tax_share,
           round(l.freight * s.share, 4) AS freight_share
      FROM lines AS l
     CROSS JOIN LATERAL (SELECT CASE WHEN l.order_lines_total <> 0 THEN l.linetotal / l.order_lines_total
                                     ELSE 1.0 / l.order_lines END AS share) AS s
),
allocated AS (         -- the last line takes the rounding remainder
    SELECT s.*,
           CASE WHEN is_last THEN subtotal - (sum(subtotal_share) OVER o - subtotal_share)
                ELSE subtotal_share END AS subtotal_allocated,
           CASE WHEN is_last THEN taxamt - (sum(tax_share) OVER o - tax_share)
                ELSE tax_share END AS tax_allocated,
           CASE WHEN is_last THEN freight - (sum(freight_share) OVER o - freight_share)
                ELSE freight_share END AS freight_allocated
      FROM shares AS s
    WINDOW o AS (PARTITION BY salesorderid)
)
INSERT INTO bikes.fact_order AS f
       (sales_order_id, sales_order_detail_id, order_date_key, due_date_key, ship_date_key, customer_key,
        sales_person_key, sales_territory_key, ship_method_key, currency_key, special_offer_key, product_key,
        order_status, is_online_order, order_qty, unit_price, unit_price_discount, line_total,
        subtotal_allocated, tax_allocated, freight_allocated, modified_at, ds)
SELECT a.salesorderid,
       a.salesorderdetailid,
       coalesce(to_char(a.orderdate, 'YYYYMMDD')::integer, -1),
       coalesce(to_char(a.duedate, 'YYYYMMDD')::integer, -1),
       coalesce(to_char(a.shipdate, 'YYYYMMDD')::integer, -1),
       coalesce(c.customerid, -1),
       coalesce(sp.businessentityid, -1),
       coalesce(st.territoryid, -1),
       coalesce(sm.shipmethodid, -1),
       coalesce(cu.currencycode, 'XXX'),
       coalesce(so.specialofferid, -1),
       coalesce(v.product_key, -1),
       a.status,
       a.onlineorderflag,
       a.orderqty,
       a.unitprice,
       a.unitpricediscount,
       a.linetotal,
       a.subtotal_allocated,
       a.tax_allocated,
       a.freight_allocated,
       greatest(a.line_modified_at, a.header_modified_at),
       a.ds
  FROM allocated AS a
  LEFT JOIN staging.bikes_customer AS c ON c.customerid = a.customerid
  LEFT JOIN staging.bikes_salesperson AS sp ON sp.businessentityid = a.salespersonid
  LEFT JOIN staging.bikes_salesterritory AS st ON st.territoryid = a.territoryid
  LEFT JOIN staging.bikes_shipmethod AS sm ON sm.shipmethodid = a.shipmethodid
  LEFT JOIN staging.bikes_currencyrate AS r ON r.currencyrateid = a.currencyrateid
  LEFT JOIN staging.bikes_currency AS cu
         ON cu.currencycode = CASE WHEN a.currencyrateid IS NULL THEN 'USD' ELSE r.tocurrencycode END
  LEFT JOIN staging.bikes_specialoffer AS so ON so.specialofferid = a.specialofferid
  LEFT JOIN bikes.dim_product AS v
         ON v.product_id = a.productid AND a.orderdate < v.valid_to AND (a.orderdate >= v.valid_from OR v.version = 1)
ON CONFLICT (sales_order_id, sales_order_detail_id) DO UPDATE
   SET order_date_key = EXCLUDED.order_date_key, due_date_key = EXCLUDED.due_date_key,
       ship_date_key = EXCLUDED.ship_date_key, customer_key = EXCLUDED.customer_key,
       sales_person_key = EXCLUDED.sales_person_key, sales_territory_key = EXCLUDED.sales_territory_key,
       ship_method_key = EXCLUDED.ship_method_key, currency_key = EXCLUDED.currency_key,
       special_offer_key = EXCLUDED.special_offer_key, product_key = EXCLUDED.product_key,
       order_status = EXCLUDED.order_status, is_online_order = EXCLUDED.is_online_order,
       order_qty = EXCLUDED.order_qty, unit_price = EXCLUDED.unit_price,
       unit_price_discount = EXCLUDED.unit_price_discount, line_total = EXCLUDED.line_total,
       subtotal_allocated = EXCLUDED.subtotal_allocated, tax_allocated = EXCLUDED.tax_allocated,
       freight_allocated = EXCLUDED.freight_allocated, modified_at = EXCLUDED.modified_at, ds = EXCLUDED.ds
 WHERE (f.order_date_key, f.due_date_key, f.ship_date_key, f.customer_key, f.sales_person_key,
        f.sales_territory_key, f.ship_method_key, f.currency_key, f.special_offer_key, f.product_key,
        f.order_status, f.is_online_order, f.order_qty, f.unit_price, f.unit_price_discount, f.line_total,
        f.subtotal_allocated, f.tax_allocated, f.freight_allocated, f.modified_at, f.ds)
       IS DISTINCT FROM
       (EXCLUDED.order_date_key, EXCLUDED.due_date_key, EXCLUDED.ship_date_key, EXCLUDED.customer_key,
        EXCLUDED.sales_person_key, EXCLUDED.sales_territory_key, EXCLUDED.ship_method_key, EXCLUDED.currency_key,
        EXCLUDED.special_offer_key, EXCLUDED.product_key, EXCLUDED.order_status, EXCLUDED.is_online_order,
        EXCLUDED.order_qty, EXCLUDED.unit_price, EXCLUDED.unit_price_discount, EXCLUDED.line_total,
        EXCLUDED.subtotal_allocated, EXCLUDED.tax_allocated, EXCLUDED.freight_allocated, EXCLUDED.modified_at,
        EXCLUDED.ds);

SELECT count(*) FROM bikes.fact_order WHERE ds = %(ds)s;
