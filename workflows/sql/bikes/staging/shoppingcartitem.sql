-- staging.bikes_shoppingcartitem ← incoming: upsert on the table's key where modifieddate is not older and values
-- differ; a source row deleted (its key gone from the table's key snapshot) is flagged deleted_at, a key
-- back is unflagged (staging.mark_deleted).
SELECT staging.upsert_incoming('staging.bikes_shoppingcartitem', 'modifieddate');
SELECT staging.mark_deleted('staging.bikes_shoppingcartitem', 'bikes', 'shoppingcartitem', %(ds)s);
