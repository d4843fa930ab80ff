-- staging.bikes_product ← incoming: upsert on productid where modifieddate is not older and values differ;
-- and every (list price, standard cost) seen goes to the history dim_product's versions are built from.
SELECT staging.upsert_incoming('staging.bikes_product', 'modifieddate');

INSERT INTO staging.bikes_product_history (productid, modifieddate, listprice, standardcost, ds)
SELECT productid, modifieddate, listprice, standardcost, ds
  FROM incoming
ON CONFLICT (productid, modifieddate) DO NOTHING;
