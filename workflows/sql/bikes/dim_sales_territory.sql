-- dim_sales_territory ← staging salesterritory rows changed on %(ds)s (every row when its extract for ds
-- was a full load). Type 1; a member deleted in the source is closed (is_current false, deleted_at), never
-- removed; unchanged rows untouched.

MERGE INTO bikes.dim_sales_territory AS d
USING (SELECT territoryid AS sales_territory_key, territoryid AS territory_id, name,
              countryregioncode AS country_region_code, "group" AS territory_group, salesytd AS sales_ytd,
              modifieddate AS modified_at, ds, deleted_at,
              deleted_at IS NULL AS is_current
         FROM staging.bikes_salesterritory
        WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'salesterritory', %(ds)s))) AS s
   ON d.sales_territory_key = s.sales_territory_key
WHEN MATCHED AND (d.name, d.country_region_code, d.territory_group, d.sales_ytd, d.modified_at, d.ds, d.is_current, d.deleted_at)
                 IS DISTINCT FROM
                 (s.name, s.country_region_code, s.territory_group, s.sales_ytd, s.modified_at, s.ds, s.is_current, s.deleted_at) THEN
    UPDATE SET name = s.name, country_region_code = s.country_region_code, territory_group = s.territory_group,
               sales_ytd = s.sales_ytd, modified_at = s.modified_at, ds = s.ds,
               is_current = s.is_current, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (sales_territory_key, territory_id, name, country_region_code, territory_group, sales_ytd, modified_at, ds, is_current, deleted_at)
    VALUES (s.sales_territory_key, s.territory_id, s.name, s.country_region_code, s.territory_group, s.sales_ytd,
            s.modified_at, s.ds, s.is_current, s.deleted_at);

SELECT count(*) FROM bikes.dim_sales_territory WHERE ds = %(ds)s;
