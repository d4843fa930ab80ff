-- staging.bikes_person ← incoming: upsert on the table's key where modifieddate is not older and values differ.
SELECT staging.upsert_incoming('staging.bikes_person', 'modifieddate');
