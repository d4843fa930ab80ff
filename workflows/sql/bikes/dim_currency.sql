-- dim_currency ← the currency API's records staged on %(ds)s (the unknown member 'XXX' is never
-- overwritten). Type 1; unchanged rows untouched.

MERGE INTO bikes.dim_currency AS d
USING (SELECT currencycode AS currency_key, name, modifieddate AS modified_at, ds
         FROM staging.bikes_currency
        WHERE ds = %(ds)s AND currencycode <> 'XXX') AS s
   ON d.currency_key = s.currency_key
WHEN MATCHED AND (d.name, d.modified_at, d.ds) IS DISTINCT FROM (s.name, s.modified_at, s.ds) THEN
    UPDATE SET name = s.name, modified_at = s.modified_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (currency_key, name, modified_at, ds) VALUES (s.currency_key, s.name, s.modified_at, s.ds);

SELECT count(*) FROM bikes.dim_currency WHERE ds = %(ds)s;
