-- dim_sales_person ← staging salesperson with its employee and person rows, for the sales people whose row,
-- employee or person changed on %(ds)s (every one when its extract for ds was a full load). Type 1; a sales
-- person deleted in the source is closed (is_current false, deleted_at); unchanged rows untouched.

WITH changed AS (
    SELECT businessentityid FROM staging.bikes_salesperson
     WHERE ds = %(ds)s OR (SELECT etl.is_full_load('bikes', 'salesperson', %(ds)s))
    UNION
    SELECT businessentityid FROM staging.bikes_employee WHERE ds = %(ds)s
    UNION
    SELECT businessentityid FROM staging.bikes_person WHERE ds = %(ds)s
),
people AS (
    SELECT sp.businessentityid AS sales_person_key,
           sp.businessentityid AS sales_person_id,
           concat_ws(' ', p.firstname, p.middlename, p.lastname) AS full_name,
           e.jobtitle AS job_title,
           sp.territoryid AS territory_id,
           sp.salesquota AS sales_quota,
           sp.bonus,
           sp.commissionpct AS commission_pct,
           sp.salesytd AS sales_ytd,
           e.hiredate AS hired_on,
           greatest(sp.modifieddate, e.modifieddate, p.modifieddate) AS modified_at,
           greatest(sp.ds, e.ds, p.ds) AS ds,
           sp.deleted_at,
           sp.deleted_at IS NULL AS is_current
      FROM changed
      JOIN staging.bikes_salesperson AS sp USING (businessentityid)
      LEFT JOIN staging.bikes_employee AS e USING (businessentityid)
      LEFT JOIN staging.bikes_person AS p USING (businessentityid)
)
MERGE INTO bikes.dim_sales_person AS d
USING people AS s ON d.sales_person_key = s.sales_person_key
WHEN MATCHED AND (d.full_name, d.job_title, d.territory_id, d.sales_quota, d.bonus, d.commission_pct, d.sales_ytd,
                  d.hired_on, d.modified_at, d.ds, d.is_current, d.deleted_at)
                 IS DISTINCT FROM
                 (s.full_name, s.job_title, s.territory_id, s.sales_quota, s.bonus, s.commission_pct, s.sales_ytd,
                  s.hired_on, s.modified_at, s.ds, s.is_current, s.deleted_at) THEN
    UPDATE SET full_name = s.full_name, job_title = s.job_title, territory_id = s.territory_id,
               sales_quota = s.sales_quota, bonus = s.bonus, commission_pct = s.commission_pct,
               sales_ytd = s.sales_ytd, hired_on = s.hired_on, modified_at = s.modified_at, ds = s.ds,
               is_current = s.is_current, deleted_at = s.deleted_at
WHEN NOT MATCHED THEN
    INSERT (sales_person_key, sales_person_id, full_name, job_title, territory_id, sales_quota, bonus,
            commission_pct, sales_ytd, hired_on, modified_at, ds, is_current, deleted_at)
    VALUES (s.sales_person_key, s.sales_person_id, s.full_name, s.job_title, s.territory_id, s.sales_quota,
            s.bonus, s.commission_pct, s.sales_ytd, s.hired_on, s.modified_at, s.ds, s.is_current, s.deleted_at);

SELECT count(*) FROM bikes.dim_sales_person WHERE ds = %(ds)s;
