-- One day %(ds)s of change in the generated `bikes` source, every modifieddate inside the day.
-- Applied once per day, in date order (generator.days). Ids of new rows are
-- 100000 × (days since 2000-01-01) + n, so they never collide with other days or the base.
-- Changes: the day's currency rates; 2 × size new individual customers; one product re-priced
-- (list price and standard cost, effective at midnight) and one re-coloured; 10 × size new
-- orders (the first 2 × size by the new customers); open orders shipped; customers, a person,
-- a store, an employee and shopping carts updated; territory and sales-person YTD sales; hard
-- deletes the warehouse must see (its key snapshots): size open orders cancelled (header, lines and
-- reasons) and 2 × size shopping-cart items of two days or more checked out.

-- ── currency rates of the day ──────────────────────────────────────────────
INSERT INTO sales.currencyrate (currencyrateid, currencyratedate, fromcurrencycode, tocurrencycode, averagerate,
                                endofdayrate, modifieddate)
SELECT (%(ds)s::date - date '2000-01-01') * 100 + c.idx, %(ds)s::date, 'USD', c.code,
       round((c.rate * (0.99 + 0.02 * generator.u(%(seed)s, 'avgrate', (%(ds)s::date - date '2000-01-01') * 100 + c.idx)))::numeric, 4),
       round((c.rate * (0.99 + 0.02 * generator.u(%(seed)s, 'eodrate', (%(ds)s::date - date '2000-01-01') * 100 + c.idx)))::numeric, 4),
       %(ds)s::date
  FROM unnest(%(rate_codes)s::text[], %(rate_base)s::float8[]) WITH ORDINALITY AS c (code, rate, idx);

-- ── new individual customers ───────────────────────────────────────────────
INSERT INTO person.person (businessentityid, persontype, firstname, lastname, emailpromotion, modifieddate)
SELECT 100000 * (%(ds)s::date - date '2000-01-01') + i, 'IN',
       (ARRAY['Ana', 'Ben', 'Chloe', 'Diego', 'Emma', 'Farid'])[1 + floor(generator.u(%(seed)s, 'nfirst', 100000 * (%(ds)s::date - date '2000-01-01') + i) * 6)::int],
       (ARRAY['Alvarez', 'Becker', 'Chen', 'Dubois', 'Evans', 'Fischer'])[1 + floor(generator.u(%(seed)s, 'nlast', 100000 * (%(ds)s::date - date '2000-01-01') + i) * 6)::int],
       0, %(ds)s::timestamp + interval '8 hours' + i * interval '1 minute'
  FROM generate_series(1, 2 * %(size)s) AS i;

INSERT INTO sales.customer (customerid, personid, territoryid, modifieddate)
SELECT p.businessentityid, p.businessentityid, 1 + floor(generator.u(%(seed)s, 'cterr', p.businessentityid) * 10)::int,
       p.modifieddate
  FROM person.person AS p
 WHERE p.businessentityid BETWEEN 100000 * (%(ds)s::date - date '2000-01-01') + 1
                              AND 100000 * (%(ds)s::date - date '2000-01-01') + 2 * %(size)s;

-- ── one product re-priced (a new dim_product version), one re-coloured (not a new version) ──
UPDATE production.product
   SET listprice = round(listprice * CASE WHEN generator.u(%(seed)s, 'updown', %(ds)s::date - date '2000-01-01') < 0.5
                                          THEN 1.08 ELSE 0.93 END, 2),
       standardcost = round(standardcost * 1.03, 4),
       modifieddate = %(ds)s::timestamp
 WHERE productid = 1 + floor(generator.u(%(seed)s, 'reprice', %(ds)s::date - date '2000-01-01')
                             * (SELECT count(*) FROM production.product))::int;

UPDATE production.product
   SET color = (ARRAY['Black', 'Red', 'Silver', 'Blue', 'Yellow', 'Multi'])
                   [1 + floor(generator.u(%(seed)s, 'recolor', %(ds)s::date - date '2000-01-01') * 6)::int],
       modifieddate = %(ds)s::timestamp + interval '9 hours'
 WHERE productid = 1 + floor(generator.u(%(seed)s, 'recolorid', %(ds)s::date - date '2000-01-01')
                             * (SELECT count(*) FROM production.product))::int;

-- ── new orders of the day (at midnight, not yet shipped) ───────────────────
INSERT INTO sales.salesorderheader (salesorderid, revisionnumber, orderdate, duedate, shipdate, status, onlineorderflag,
                                    purchaseordernumber, accountnumber, customerid, salespersonid, territoryid,
                                    shipmethodid, currencyrateid, modifieddate)
SELECT o.id, 8, %(ds)s::timestamp, %(ds)s::timestamp + interval '12 days', NULL, 1,
       c.storeid IS NULL,
       CASE WHEN c.storeid IS NOT NULL THEN 'PO' || (1000000000 + o.id) END,
       '10-4020-' || lpad(c.customerid::text, 6, '0'),
       c.customerid, st.salespersonid, c.territoryid,
       CASE WHEN c.storeid IS NULL THEN 1 ELSE 1 + floor(generator.u(%(seed)s, 'ship', o.id) * 5)::int END,
       CASE WHEN c.storeid IS NOT NULL AND generator.u(%(seed)s, 'fx', o.id) < 0.3
            THEN (%(ds)s::date - date '2000-01-01') * 100
                 + 1 + floor(generator.u(%(seed)s, 'fxcode', o.id) * cardinality(%(rate_codes)s::text[]))::int END,
       %(ds)s::timestamp + (1 + floor(generator.u(%(seed)s, 'ohour', o.id) * 20)) * interval '1 hour'
  FROM (SELECT 100000 * (%(ds)s::date - date '2000-01-01') + i AS id,
               CASE WHEN i <= 2 * %(size)s THEN 100000 * (%(ds)s::date - date '2000-01-01') + i
                    ELSE 1 + floor(generator.u(%(seed)s, 'ocust', 100000 * (%(ds)s::date - date '2000-01-01') + i)
                                   * 70 * %(size)s)::int END AS customerid
          FROM generate_series(1, 10 * %(size)s) AS i) AS o
  JOIN sales.customer AS c ON c.customerid = o.customerid
  LEFT JOIN sales.store AS st ON st.businessentityid = c.storeid;

INSERT INTO sales.salesorderdetail (salesorderid, salesorderdetailid, carriertrackingnumber, orderqty, productid,
                                    specialofferid, unitprice, unitpricediscount, modifieddate)
SELECT l.salesorderid,
       (SELECT coalesce(max(salesorderdetailid), 0) FROM sales.salesorderdetail)
           + row_number() OVER (ORDER BY l.salesorderid, l.line),
       CASE WHEN NOT l.onlineorderflag THEN upper(substr(md5(l.salesorderid::text || '-' || l.line), 1, 12)) END,
       l.qty, l.productid, l.offer, p.listprice, so.discountpct, l.orderdate
  FROM (SELECT h.salesorderid, h.orderdate, h.onlineorderflag, n.line, pr.productid,
               CASE WHEN mod(pr.productid, 3) = 0 AND generator.u(%(seed)s, 'offer', h.salesorderid::bigint * 8 + n.line) < 0.5
                    THEN 2 + mod(pr.productid, 5) ELSE 1 END AS offer,
               1 + floor(generator.u(%(seed)s, 'qty', h.salesorderid::bigint * 8 + n.line)
                         * CASE WHEN h.onlineorderflag THEN 3 ELSE 12 END)::int AS qty
          FROM sales.salesorderheader AS h
          CROSS JOIN LATERAL generate_series(1, 1 + floor(generator.u(%(seed)s, 'lines', h.salesorderid) * 5)::int) AS n (line)
          CROSS JOIN LATERAL (SELECT 1 + floor(generator.u(%(seed)s, 'lprod', h.salesorderid::bigint * 8 + n.line)
                                               * (SELECT count(*) FROM production.product))::int AS productid) AS pr
         WHERE h.salesorderid BETWEEN 100000 * (%(ds)s::date - date '2000-01-01') + 1
                                  AND 100000 * (%(ds)s::date - date '2000-01-01') + 10 * %(size)s) AS l
  JOIN production.product AS p ON p.productid = l.productid
  JOIN sales.specialoffer AS so ON so.specialofferid = l.offer;

UPDATE sales.salesorderheader AS h
   SET subtotal = s.subtotal, taxamt = round(s.subtotal * 0.08, 4), freight = round(s.subtotal * 0.025, 4)
  FROM (SELECT salesorderid, round(sum(linetotal), 4) AS subtotal
          FROM sales.salesorderdetail
         WHERE salesorderid BETWEEN 100000 * (%(ds)s::date - date '2000-01-01') + 1
                                AND 100000 * (%(ds)s::date - date '2000-01-01') + 10 * %(size)s
         GROUP BY salesorderid) AS s
 WHERE s.salesorderid = h.salesorderid;

INSERT INTO sales.salesorderheadersalesreason (salesorderid, salesreasonid, modifieddate)
SELECT h.salesorderid, r.reason, h.orderdate
  FROM sales.salesorderheader AS h
  CROSS JOIN LATERAL (SELECT 1 + floor(generator.u(%(seed)s, 'reason', h.salesorderid) * 10)::int AS first) AS f
  CROSS JOIN LATERAL (SELECT f.first AS reason
                      UNION ALL
                      SELECT 1 + mod(f.first, 10) WHERE generator.u(%(seed)s, 'reason2', h.salesorderid) < 0.3) AS r
 WHERE h.onlineorderflag
   AND h.salesorderid BETWEEN 100000 * (%(ds)s::date - date '2000-01-01') + 1
                          AND 100000 * (%(ds)s::date - date '2000-01-01') + 10 * %(size)s;

-- ── open orders of three days or more ship today, about half of them ───────
UPDATE sales.salesorderheader
   SET status = 5, shipdate = %(ds)s::timestamp, revisionnumber = revisionnumber + 1,
       modifieddate = %(ds)s::timestamp + interval '15 hours'
 WHERE status = 1
   AND orderdate <= %(ds)s::timestamp - interval '3 days'
   AND generator.u(%(seed)s, 'shipday', salesorderid::bigint * 100000 + (%(ds)s::date - date '2000-01-01')) < 0.5;

-- ── updates: customers move territory, a person, a store, an employee, shopping carts ──
UPDATE sales.customer
   SET territoryid = 1 + floor(generator.u(%(seed)s, 'moveto', customerid::bigint * 100000 + (%(ds)s::date - date '2000-01-01')) * 10)::int,
       modifieddate = %(ds)s::timestamp + interval '11 hours'
 WHERE customerid IN (SELECT 1 + floor(generator.u(%(seed)s, 'move', 100000 * (%(ds)s::date - date '2000-01-01') + i) * 60 * %(size)s)::int
                        FROM generate_series(1, %(size)s) AS i);

UPDATE person.person
   SET emailpromotion = mod(emailpromotion + 1, 3), modifieddate = %(ds)s::timestamp + interval '12 hours'
 WHERE businessentityid = 21 + floor(generator.u(%(seed)s, 'promoted', %(ds)s::date - date '2000-01-01') * 60 * %(size)s)::int;

UPDATE sales.store
   SET salespersonid = 2 + floor(generator.u(%(seed)s, 'newsp', %(ds)s::date - date '2000-01-01') * 9)::int,
       modifieddate = %(ds)s::timestamp + interval '13 hours'
 WHERE businessentityid = 21 + 60 * %(size)s + floor(generator.u(%(seed)s, 'restaffed', %(ds)s::date - date '2000-01-01') * 10 * %(size)s)::int;

UPDATE humanresources.employee
   SET vacationhours = least(vacationhours + 8, 240), modifieddate = %(ds)s::timestamp + interval '16 hours'
 WHERE businessentityid = 1 + floor(generator.u(%(seed)s, 'vacation', %(ds)s::date - date '2000-01-01') * 20)::int;

INSERT INTO sales.shoppingcartitem (shoppingcartitemid, shoppingcartid, quantity, productid, datecreated, modifieddate)
SELECT 100000 * (%(ds)s::date - date '2000-01-01') + i,
       (30000 + floor(generator.u(%(seed)s, 'cart', 100000 * (%(ds)s::date - date '2000-01-01') + i) * 1000)::int)::text,
       1 + floor(generator.u(%(seed)s, 'cartq', 100000 * (%(ds)s::date - date '2000-01-01') + i) * 5)::int,
       1 + floor(generator.u(%(seed)s, 'cartp', 100000 * (%(ds)s::date - date '2000-01-01') + i)
                 * (SELECT count(*) FROM production.product))::int,
       %(ds)s::timestamp + interval '10 hours' + i * interval '1 minute',
       %(ds)s::timestamp + interval '10 hours' + i * interval '1 minute'
  FROM generate_series(1, 3 * %(size)s) AS i;

UPDATE sales.shoppingcartitem
   SET quantity = quantity + 1, modifieddate = %(ds)s::timestamp + interval '14 hours'
 WHERE shoppingcartitemid = 1 + floor(generator.u(%(seed)s, 'cartbump', %(ds)s::date - date '2000-01-01') * 5 * %(size)s)::int;

-- ── year-to-date sales of territories and sales people grow by the day's orders ──
UPDATE sales.salesterritory AS t
   SET salesytd = t.salesytd + s.subtotal, modifieddate = %(ds)s::timestamp + interval '23 hours'
  FROM (SELECT territoryid, sum(subtotal) AS subtotal
          FROM sales.salesorderheader
         WHERE orderdate = %(ds)s::timestamp
         GROUP BY territoryid) AS s
 WHERE s.territoryid = t.territoryid;

UPDATE sales.salesperson AS p
   SET salesytd = p.salesytd + s.subtotal, modifieddate = %(ds)s::timestamp + interval '23 hours'
  FROM (SELECT salespersonid, sum(subtotal) AS subtotal
          FROM sales.salesorderheader
         WHERE orderdate = %(ds)s::timestamp AND salespersonid IS NOT NULL
         GROUP BY salespersonid) AS s
 WHERE s.salespersonid = p.businessentityid;

-- ── hard deletes: open orders cancelled (lines and reasons go with them), carts checked out ──
DELETE FROM sales.salesorderheader
 WHERE salesorderid IN (SELECT salesorderid
                          FROM sales.salesorderheader
                         WHERE status = 1 AND orderdate < %(ds)s::timestamp
                         ORDER BY generator.u(%(seed)s, 'cancel', salesorderid::bigint * 100000 + (%(ds)s::date - date '2000-01-01')),
                                  salesorderid
                         LIMIT %(size)s);

DELETE FROM sales.shoppingcartitem
 WHERE shoppingcartitemid IN (SELECT shoppingcartitemid
                                FROM sales.shoppingcartitem
                               WHERE datecreated < %(ds)s::timestamp - interval '2 days'
                               ORDER BY generator.u(%(seed)s, 'checkout', shoppingcartitemid::bigint * 100000 + (%(ds)s::date - date '2000-01-01')),
                                        shoppingcartitemid
                               LIMIT 2 * %(size)s);
