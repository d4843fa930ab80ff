-- dim_ship_method ← staging shipmethod rows changed on %(ds)s (every row when its extract for ds was a full
-- load). Type 1; a member deleted in the source is closed (is_current false, deleted_at), never removed;
-- unchanged rows untouched.

MERGE INTO bikes.dim_ship_method AS d
USING (SELECT shipmethodid AS ship_method_key, shipmethodid AS ship_method_id, name, shipbase AS ship_base,
              shiprate AS ship_rate, modifieddate AS modified_at, ds, deleted_at,
              deleted_at IS NULL AS is_current
         FROM staging.bikes_shipmethod
        WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'shipmethod', %(ds)s))) AS s
   ON d.ship_method_key = s.ship_method_key
WHEN MATCHED AND (d.name, d.ship_base, d.ship_rate, d.modified_at, d.ds, d.is_current, d.deleted_at)
                 IS DISTINCT FROM (s.name, s.ship_base, s.ship_rate, s.modified_at, s.ds, s.is_current, s.deleted_at) THEN
    UPDATE SET name = s.name, ship_base = s.ship_base, ship_rate = s.ship_rate, modified_at = s.modified_at,
               ds = s.ds,
               is_current = s.is_current, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (ship_method_key, ship_method_id, name, ship_base, ship_rate, modified_at, ds, is_current, deleted_at)
    VALUES (s.ship_method_key, s.ship_method_id, s.name, s.ship_base, s.ship_rate, s.modified_at, s.ds, s.is_current, s.deleted_at);

SELECT count(*) FROM bikes.dim_ship_method WHERE ds = %(ds)s;
