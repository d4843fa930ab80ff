-- dim_product ← the type-2 versions (bikes.product_versions(): a new one whenever list price or standard
-- cost changes) of the products whose row or price history changed on %(ds)s (every product when its
-- extract for ds was a full load), each carrying the product's current type-1 attributes.
-- Keys: a version gets its surrogate key (bikes.product_version_keys) the first time it is built and
-- keeps it: a change that arrives late adds a version with a new key, and the later versions keep
-- theirs (only their valid_from / valid_to / version ordinal move). A product deleted in the source
-- keeps its versions, the last one closed (valid_to = deleted_at, is_current false). Unchanged rows
-- are untouched: re-runs change nothing.

-- ── keys for the versions not seen before ─────────────────────────────────
WITH affected AS (
    SELECT productid FROM staging.bikes_product
     WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'product', %(ds)s))
    UNION
    SELECT productid FROM staging.bikes_product_history WHERE ds = %(ds)s
)
INSERT INTO bikes.product_version_keys (productid, changed_at)
SELECT v.productid, v.changed_at
  FROM affected AS a
  JOIN bikes.product_versions() AS v ON v.productid = a.productid
 WHERE v.product_key IS NULL
 ORDER BY v.productid, v.changed_at
ON CONFLICT (productid, changed_at) DO NOTHING;

-- ── the versions, merged on their keys ─────────────────────────────────────
WITH affected AS (
    SELECT productid FROM staging.bikes_product
     WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'product', %(ds)s))
    UNION
    SELECT productid FROM staging.bikes_product_history WHERE ds = %(ds)s
),
versions AS (
    SELECT v.product_key,
           v.productid AS product_id,
           v.version,
           p.name,
           p.productnumber AS product_number,
           p.color,
           p.size,
           p.weight,
           p.productline AS product_line,
           p.class,
           p.style,
           v.listprice AS list_price,
           v.standardcost AS standard_cost,
           p.sellstartdate AS sell_start_at,
           p.sellenddate AS sell_end_at,
           p.discontinueddate AS discontinued_at,
           v.valid_from,
           v.valid_to,
           v.is_current,
           p.modifieddate AS modified_at,
           p.ds,
           p.deleted_at
      FROM affected AS a
      JOIN bikes.product_versions() AS v ON v.productid = a.productid
      JOIN staging.bikes_product AS p ON p.productid = a.productid
)
MERGE INTO bikes.dim_product AS d
USING versions AS s ON d.product_key = s.product_key
WHEN MATCHED AND (d.product_id, d.version, d.name, d.product_number, d.color, d.size, d.weight, d.product_line,
                  d.class, d.style, d.list_price, d.standard_cost, d.sell_start_at, d.sell_end_at,
                  d.discontinued_at, d.valid_from, d.valid_to, d.is_current, d.modified_at, d.ds, d.deleted_at)
                 IS DISTINCT FROM
                 (s.product_id, s.version, s.name, s.product_number, s.color, s.size, s.weight, s.product_line,
                  s.class, s.style, s.list_price, s.standard_cost, s.sell_start_at, s.sell_end_at,
                  s.discontinued_at, s.valid_from, s.valid_to, s.is_current, s.modified_at, s.ds, s.deleted_at) THEN
    UPDATE SET product_id = s.product_id, version = s.version, name = s.name, product_number = s.product_number,
               color = s.color, size = s.size, weight = s.weight, product_line = s.product_line, class = s.class,
               style = s.style, list_price = s.list_price, standard_cost = s.standard_cost,
               sell_start_at = s.sell_start_at, sell_end_at = s.sell_end_at, discontinued_at = s.discontinued_at,
               valid_from = s.valid_from, valid_to = s.valid_to, is_current = s.is_current,
               modified_at = s.modified_at, ds = s.ds, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (product_key, product_id, version, name, product_number, color, size, weight, product_line, class, style,
            list_price, standard_cost, sell_start_at, sell_end_at, discontinued_at, valid_from, valid_to,
            is_current, modified_at, ds, deleted_at)
    VALUES (s.product_key, s.product_id, s.version, s.name, s.product_number, s.color, s.size, s.weight,
            s.product_line, s.class, s.style, s.list_price, s.standard_cost, s.sell_start_at, s.sell_end_at,
            s.discontinued_at, s.valid_from, s.valid_to, s.is_current, s.modified_at, s.ds, s.deleted_at);

SELECT count(*) FROM bikes.dim_product WHERE ds = %(ds)s;
