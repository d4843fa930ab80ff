-- staging.bikes_product ← incoming: upsert on productid where modifieddate is not older and values differ;
-- every (list price, standard cost) seen goes to the history dim_product's versions are built from; a
-- source row deleted (its key gone from the table's key snapshot) is flagged deleted_at, a key back is
-- unflagged (staging.mark_deleted).
SELECT staging.upsert_incoming('staging.bikes_product', 'modifieddate');
SELECT staging.mark_deleted('staging.bikes_product', 'bikes', 'product', %(ds)s);

INSERT INTO staging.bikes_product_history (productid, modifieddate, listprice, standardcost, ds)
SELECT productid, modifieddate, listprice, standardcost, ds
  FROM incoming
ON CONFLICT (productid, modifieddate) DO NOTHING;
