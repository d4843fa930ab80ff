-- dim_ship_method ← staging shipmethod rows changed on %(ds)s. Type 1; unchanged rows untouched.

MERGE INTO bikes.dim_ship_method AS d
USING (SELECT shipmethodid AS ship_method_key, shipmethodid AS ship_method_id, name, shipbase AS ship_base,
              shiprate AS ship_rate, modifieddate AS modified_at, ds
         FROM staging.bikes_shipmethod
        WHERE ds = %(ds)s) AS s
   ON d.ship_method_key = s.ship_method_key
WHEN MATCHED AND (d.name, d.ship_base, d.ship_rate, d.modified_at, d.ds)
                 IS DISTINCT FROM (s.name, s.ship_base, s.ship_rate, s.modified_at, s.ds) THEN
    UPDATE SET name = s.name, ship_base = s.ship_base, ship_rate = s.ship_rate, modified_at = s.modified_at,
               ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (ship_method_key, ship_method_id, name, ship_base, ship_rate, modified_at, ds)
    VALUES (s.ship_method_key, s.ship_method_id, s.name, s.ship_base, s.ship_rate, s.modified_at, s.ds);

SELECT count(*) FROM bikes.dim_ship_method WHERE ds = %(ds)s;
