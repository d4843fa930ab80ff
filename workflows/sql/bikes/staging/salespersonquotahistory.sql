-- staging.bikes_salespersonquotahistory ← incoming: upsert on the table's key where modifieddate is not older and values differ.
SELECT staging.upsert_incoming('staging.bikes_salespersonquotahistory', 'modifieddate');
