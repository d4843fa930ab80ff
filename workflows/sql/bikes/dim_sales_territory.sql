-- dim_sales_territory ← staging salesterritory rows changed on %(ds)s. Type 1; unchanged rows untouched.

MERGE INTO bikes.dim_sales_territory AS d
USING (SELECT territoryid AS sales_territory_key, territoryid AS territory_id, name,
              countryregioncode AS country_region_code, "group" AS territory_group, salesytd AS sales_ytd,
              modifieddate AS modified_at, ds
         FROM staging.bikes_salesterritory
        WHERE ds = %(ds)s) AS s
   ON d.sales_territory_key = s.sales_territory_key
WHEN MATCHED AND (d.name, d.country_region_code, d.territory_group, d.sales_ytd, d.modified_at, d.ds)
                 IS DISTINCT FROM
                 (s.name, s.country_region_code, s.territory_group, s.sales_ytd, s.modified_at, s.ds) THEN
    UPDATE SET name = s.name, country_region_code = s.country_region_code, territory_group = s.territory_group,
               sales_ytd = s.sales_ytd, modified_at = s.modified_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (sales_territory_key, territory_id, name, country_region_code, territory_group, sales_ytd, modified_at, ds)
    VALUES (s.sales_territory_key, s.territory_id, s.name, s.country_region_code, s.territory_group, s.sales_ytd,
            s.modified_at, s.ds);

SELECT count(*) FROM bikes.dim_sales_territory WHERE ds = %(ds)s;
