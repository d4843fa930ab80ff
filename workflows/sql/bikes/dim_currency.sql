-- dim_currency ← every currency the API's records have staged (a handful; the unknown member 'XXX' is
-- never overwritten), so every build refreshes every member, whatever ds it is for. Type 1; unchanged
-- rows untouched. (%(ds)s is only the build's date.)

MERGE INTO bikes.dim_currency AS d
USING (SELECT currencycode AS currency_key, name, modifieddate AS modified_at, ds
         FROM staging.bikes_currency
        WHERE currencycode <> 'XXX') AS s
   ON d.currency_key = s.currency_key
WHEN MATCHED AND (d.name, d.modified_at, d.ds) IS DISTINCT FROM (s.name, s.modified_at, s.ds) THEN
    UPDATE SET name = s.name, modified_at = s.modified_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (currency_key, name, modified_at, ds) VALUES (s.currency_key, s.name, s.modified_at, s.ds);

SELECT count(*) FROM bikes.dim_currency WHERE ds = %(ds)s;
