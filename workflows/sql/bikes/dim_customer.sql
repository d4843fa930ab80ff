-- dim_customer ← staging customer with its person's or store's name, for the customers whose row, person or
-- store changed on %(ds)s (every customer when its extract for ds was a full load). Type 1: attributes are
-- overwritten; a customer deleted in the source is closed (is_current false, deleted_at), never removed;
-- unchanged rows untouched.
-- modified_at is the source's latest change among the three rows, not the build time.

WITH changed AS (
    SELECT customerid FROM staging.bikes_customer
     WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'customer', %(ds)s))
    UNION
    SELECT c.customerid
      FROM staging.bikes_customer AS c
      JOIN staging.bikes_person AS p ON p.businessentityid = c.personid
     WHERE p.ds = %(ds)s
    UNION
    SELECT c.customerid
      FROM staging.bikes_customer AS c
      JOIN staging.bikes_store AS s ON s.businessentityid = c.storeid
     WHERE s.ds = %(ds)s
),
customers AS (
    SELECT c.customerid AS customer_key,
           c.customerid AS customer_id,
           c.accountnumber AS account_number,
           CASE WHEN c.storeid IS NOT NULL THEN 'store'
                WHEN c.personid IS NOT NULL THEN 'individual'
                ELSE 'unknown' END AS customer_type,
           coalesce(s.name, concat_ws(' ', p.firstname, p.middlename, p.lastname)) AS customer_name,
           c.personid AS person_id,
           c.storeid AS store_id,
           c.territoryid AS territory_id,
           greatest(c.modifieddate, p.modifieddate, s.modifieddate) AS modified_at,
           greatest(c.ds, p.ds, s.ds) AS ds,
           c.deleted_at,
           c.deleted_at IS NULL AS is_current
      FROM changed
      JOIN staging.bikes_customer AS c USING (customerid)
      LEFT JOIN staging.bikes_person AS p ON p.businessentityid = c.personid
      LEFT JOIN staging.bikes_store AS s ON s.businessentityid = c.storeid
)
MERGE INTO bikes.dim_customer AS d
USING customers AS s ON d.customer_key = s.customer_key
WHEN MATCHED AND (d.account_number, d.customer_type, d.customer_name, d.person_id, d.store_id, d.territory_id,
                  d.modified_at, d.ds, d.is_current, d.deleted_at)
                 IS DISTINCT FROM
                 (s.account_number, s.customer_type, s.customer_name, s.person_id, s.store_id, s.territory_id,
                  s.modified_at, s.ds, s.is_current, s.deleted_at) THEN
    UPDATE SET account_number = s.account_number, customer_type = s.customer_type, customer_name = s.customer_name,
               person_id = s.person_id, store_id = s.store_id, territory_id = s.territory_id,
               modified_at = s.modified_at, ds = s.ds,
               is_current = s.is_current, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (customer_key, customer_id, account_number, customer_type, customer_name, person_id, store_id,
            territory_id, modified_at, ds, is_current, deleted_at)
    VALUES (s.customer_key, s.customer_id, s.account_number, s.customer_type, s.customer_name, s.person_id,
            s.store_id, s.territory_id, s.modified_at, s.ds, s.is_current, s.deleted_at);

SELECT count(*) FROM bikes.dim_customer WHERE ds = %(ds)s;
