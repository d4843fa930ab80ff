-- The generated `bikes` source before its opening day %(opening)s: reference data, people,
-- customers, products, currency rates for the 90 days before, and 150 × size orders over
-- those days (1–5 lines each). Deterministic per (seed, size, opening): every draw is
-- generator.u(seed, salt, n). Every modifieddate is before the opening day.
-- Sizes: 20 employees (1–10 sales people), 60 × size individuals, 10 × size stores,
-- least(40 + 10 × size, 2000) products.

-- ── territories, ship methods, sales reasons, special offers (AdventureWorks' values) ──
INSERT INTO sales.salesterritory (territoryid, name, countryregioncode, "group", modifieddate)
SELECT t.id, t.name, t.country, t.grp, %(opening)s::timestamp - interval '700 days'
  FROM (VALUES (1, 'Northwest', 'US', 'North America'), (2, 'Northeast', 'US', 'North America'),
               (3, 'Central', 'US', 'North America'), (4, 'Southwest', 'US', 'North America'),
               (5, 'Southeast', 'US', 'North America'), (6, 'Canada', 'CA', 'North America'),
               (7, 'France', 'FR', 'Europe'), (8, 'Germany', 'DE', 'Europe'),
               (9, 'Australia', 'AU', 'Pacific'), (10, 'United Kingdom', 'GB', 'Europe')) AS t (id, name, country, grp);

INSERT INTO purchasing.shipmethod (shipmethodid, name, shipbase, shiprate, modifieddate)
SELECT s.id, s.name, s.base, s.rate, %(opening)s::timestamp - interval '700 days'
  FROM (VALUES (1, 'XRQ - TRUCK GROUND', 3.95, 0.99), (2, 'ZY - EXPRESS', 9.95, 1.99),
               (3, 'OVERSEAS - DELUXE', 29.95, 2.99), (4, 'OVERNIGHT J-FAST', 21.95, 1.29),
               (5, 'CARGO TRANSPORT 5', 8.99, 1.49)) AS s (id, name, base, rate);

INSERT INTO sales.salesreason (salesreasonid, name, reasontype, modifieddate)
SELECT r.id, r.name, r.type, %(opening)s::timestamp - interval '700 days'
  FROM (VALUES (1, 'Price', 'Other'), (2, 'On Promotion', 'Promotion'), (3, 'Magazine Advertisement', 'Marketing'),
               (4, 'Television  Advertisement', 'Marketing'), (5, 'Manufacturer', 'Other'), (6, 'Review', 'Other'),
               (7, 'Demo Event', 'Marketing'), (8, 'Sponsorship', 'Marketing'), (9, 'Quality', 'Other'),
               (10, 'Other', 'Other')) AS r (id, name, type);

INSERT INTO sales.specialoffer (specialofferid, description, discountpct, type, category, startdate, enddate,
                                minqty, maxqty, modifieddate)
SELECT o.id, o.descr, o.pct, o.type, o.cat, %(opening)s::timestamp - interval '730 days',
       %(opening)s::timestamp + interval '730 days', o.minq, o.maxq, %(opening)s::timestamp - interval '700 days'
  FROM (VALUES (1, 'No Discount', 0.00, 'No Discount', 'No Discount', 0, NULL::integer),
               (2, 'Volume Discount 11 to 14', 0.02, 'Volume Discount', 'Reseller', 11, 14),
               (3, 'Volume Discount 15 to 24', 0.05, 'Volume Discount', 'Reseller', 15, 24),
               (4, 'Mountain-100 Clearance Sale', 0.35, 'Discontinued Product', 'Reseller', 0, NULL),
               (5, 'Sport Helmet Discount-2002', 0.10, 'Seasonal Discount', 'Reseller', 0, NULL),
               (6, 'Touring-3000 Promotion', 0.15, 'New Product', 'Customer', 0, NULL)) AS o (id, descr, pct, type, cat, minq, maxq);

-- ── people: 1–10 sales people, 11–20 other employees, then individual customers ──
INSERT INTO person.person (businessentityid, persontype, title, firstname, middlename, lastname, emailpromotion, modifieddate)
SELECT id,
       CASE WHEN id <= 10 THEN 'SP' WHEN id <= 20 THEN 'EM' ELSE 'IN' END,
       CASE WHEN generator.u(%(seed)s, 'title', id) < 0.1 THEN 'Mr.' END,
       (ARRAY['Ken', 'Terri', 'Roberto', 'Rob', 'Gail', 'Jossef', 'Dylan', 'Diane', 'Gigi', 'Michael',
              'Ovidiu', 'Thierry', 'Janice', 'Sharon', 'David', 'Kevin', 'John', 'Mary', 'Wanida', 'Linda'])
           [1 + floor(generator.u(%(seed)s, 'first', id) * 20)::int],
       CASE WHEN generator.u(%(seed)s, 'middle', id) < 0.4 THEN chr(65 + floor(generator.u(%(seed)s, 'mi', id) * 26)::int) END,
       (ARRAY['Sánchez', 'Duffy', 'Tamburello', 'Walters', 'Erickson', 'Goldberg', 'Miller', 'Margheim', 'Matthew',
              'Raheem', 'Cracium', 'D''Hers', 'Galvin', 'Salavaria', 'Bradley', 'Brown', 'Wood', 'Dempsey', 'Benshoof', 'Meyer'])
           [1 + floor(generator.u(%(seed)s, 'last', id) * 20)::int],
       floor(generator.u(%(seed)s, 'promo', id) * 3)::int,
       %(opening)s::timestamp - interval '400 days' + floor(generator.u(%(seed)s, 'pmod', id) * 300) * interval '1 day'
  FROM generate_series(1, 20 + 60 * %(size)s) AS id;

INSERT INTO humanresources.employee (businessentityid, nationalidnumber, loginid, jobtitle, birthdate, maritalstatus,
                                     gender, hiredate, salariedflag, vacationhours, sickleavehours, modifieddate)
SELECT p.businessentityid,
       (100000000 + floor(generator.u(%(seed)s, 'natid', p.businessentityid) * 899999999))::bigint::text,
       'adventure-works\' || lower(p.firstname) || p.businessentityid,
       CASE WHEN p.businessentityid = 1 THEN 'North American Sales Manager'
            WHEN p.businessentityid <= 10 THEN 'Sales Representative'
            ELSE (ARRAY['Production Technician - WC60', 'Design Engineer', 'Buyer', 'Accountant', 'Tool Designer'])
                     [1 + floor(generator.u(%(seed)s, 'job', p.businessentityid) * 5)::int] END,
       date '1960-01-01' + floor(generator.u(%(seed)s, 'birth', p.businessentityid) * 10950)::int,
       CASE WHEN generator.u(%(seed)s, 'marital', p.businessentityid) < 0.5 THEN 'M' ELSE 'S' END,
       CASE WHEN generator.u(%(seed)s, 'gender', p.businessentityid) < 0.5 THEN 'M' ELSE 'F' END,
       date '2006-01-01' + floor(generator.u(%(seed)s, 'hire', p.businessentityid) * 2500)::int,
       p.businessentityid <= 10,
       floor(generator.u(%(seed)s, 'vac', p.businessentityid) * 100)::int,
       20 + floor(generator.u(%(seed)s, 'sick', p.businessentityid) * 50)::int,
       p.modifieddate
  FROM person.person AS p
 WHERE p.businessentityid <= 20;

-- Sales person 1 is the manager: no territory and no quota (as in AdventureWorks).
INSERT INTO sales.salesperson (businessentityid, territoryid, salesquota, bonus, commissionpct, salesytd,
                               saleslastyear, modifieddate)
SELECT id,
       CASE WHEN id > 1 THEN 1 + mod(id - 2, 10) END,
       CASE WHEN id > 1 THEN 250000 + round((generator.u(%(seed)s, 'quota', id) * 50000)::numeric, -3) END,
       round((generator.u(%(seed)s, 'bonus', id) * 5000)::numeric, 0),
       CASE WHEN id > 1 THEN 0.010 + round((generator.u(%(seed)s, 'comm', id) * 0.01)::numeric, 3) ELSE 0 END,
       0, round((generator.u(%(seed)s, 'lastyear', id) * 2000000)::numeric, 4),
       %(opening)s::timestamp - interval '500 days'
  FROM generate_series(1, 10) AS id;

INSERT INTO sales.salespersonquotahistory (businessentityid, quotadate, salesquota, modifieddate)
SELECT sp.id, date_trunc('quarter', %(opening)s::timestamp) - q * interval '3 months',
       50000 + round((generator.u(%(seed)s, 'qh', sp.id * 10 + q) * 250000)::numeric, -3),
       date_trunc('quarter', %(opening)s::timestamp) - q * interval '3 months' - interval '14 days'
  FROM generate_series(2, 10) AS sp (id), generate_series(1, 4) AS q;

INSERT INTO sales.salesterritoryhistory (businessentityid, territoryid, startdate, enddate, modifieddate)
SELECT s.businessentityid, s.territoryid, %(opening)s::timestamp - interval '600 days', NULL,
       %(opening)s::timestamp - interval '600 days'
  FROM sales.salesperson AS s
 WHERE s.territoryid IS NOT NULL;

-- ── stores and customers (individuals 1 .. 60 × size, then one per store) ──
INSERT INTO sales.store (businessentityid, name, salespersonid, modifieddate)
SELECT 20 + 60 * %(size)s + i,
       (ARRAY['Next-Door', 'Professional', 'Riders', 'Metro', 'Family', 'Exhilarating', 'Vigorous', 'Rural'])
           [1 + floor(generator.u(%(seed)s, 'store1', i) * 8)::int] || ' '
       || (ARRAY['Bike Store', 'Sales and Service', 'Cycle Shop', 'Bicycle Company', 'Sporting Goods'])
           [1 + floor(generator.u(%(seed)s, 'store2', i) * 5)::int],
       2 + floor(generator.u(%(seed)s, 'storesp', i) * 9)::int,
       %(opening)s::timestamp - interval '400 days' + floor(generator.u(%(seed)s, 'smod', i) * 300) * interval '1 day'
  FROM generate_series(1, 10 * %(size)s) AS i;

INSERT INTO sales.customer (customerid, personid, storeid, territoryid, modifieddate)
SELECT i, 20 + i, NULL, 1 + floor(generator.u(%(seed)s, 'cterr', i) * 10)::int, p.modifieddate
  FROM generate_series(1, 60 * %(size)s) AS i
  JOIN person.person AS p ON p.businessentityid = 20 + i
UNION ALL
SELECT 60 * %(size)s + i, NULL, st.businessentityid, coalesce(sp.territoryid, 1), st.modifieddate
  FROM generate_series(1, 10 * %(size)s) AS i
  JOIN sales.store AS st ON st.businessentityid = 20 + 60 * %(size)s + i
  LEFT JOIN sales.salesperson AS sp ON sp.businessentityid = st.salespersonid;

-- ── products, and which special offers apply to them ───────────────────────
INSERT INTO production.product (productid, name, productnumber, makeflag, finishedgoodsflag, color, safetystocklevel,
                                reorderpoint, standardcost, listprice, size, weight, daystomanufacture, productline,
                                class, style, sellstartdate, modifieddate)
SELECT id,
       (ARRAY['Mountain-100', 'Road-150', 'Touring-1000', 'HL Road Frame', 'Sport-100 Helmet', 'Mountain Bike Socks',
              'Long-Sleeve Logo Jersey', 'Water Bottle', 'Patch Kit', 'Half-Finger Gloves'])[1 + mod(id - 1, 10)]
           || ' ' || id,
       'BK-' || lpad(id::text, 5, '0'),
       generator.u(%(seed)s, 'make', id) < 0.5, true,
       (ARRAY['Black', 'Red', 'Silver', 'Blue', 'Yellow', NULL])[1 + floor(generator.u(%(seed)s, 'color', id) * 6)::int],
       safety, (safety * 3) / 4,
       round((price * (0.4 + 0.2 * generator.u(%(seed)s, 'cost', id)))::numeric, 4),
       price,
       (ARRAY['S', 'M', 'L', '44', '48', NULL])[1 + floor(generator.u(%(seed)s, 'size', id) * 6)::int],
       CASE WHEN generator.u(%(seed)s, 'hasweight', id) < 0.6 THEN round((2 + generator.u(%(seed)s, 'weight', id) * 18)::numeric, 2) END,
       floor(generator.u(%(seed)s, 'days', id) * 5)::int,
       (ARRAY['R', 'M', 'T', 'S', NULL])[1 + floor(generator.u(%(seed)s, 'line', id) * 5)::int],
       (ARRAY['L', 'M', 'H', NULL])[1 + floor(generator.u(%(seed)s, 'class', id) * 4)::int],
       (ARRAY['W', 'M', 'U', NULL])[1 + floor(generator.u(%(seed)s, 'style', id) * 4)::int],
       %(opening)s::timestamp - interval '730 days',
       %(opening)s::timestamp - interval '365 days' + floor(generator.u(%(seed)s, 'prmod', id) * 200) * interval '1 day'
  FROM generate_series(1, least(40 + 10 * %(size)s, 2000)) AS id,
       LATERAL (SELECT round((2 + generator.u(%(seed)s, 'price', id) * 3000)::numeric, 2) AS price,
                       4 + floor(generator.u(%(seed)s, 'safety', id) * 996)::int AS safety) AS x;

INSERT INTO sales.specialofferproduct (specialofferid, productid, modifieddate)
SELECT 1, productid, %(opening)s::timestamp - interval '700 days' FROM production.product
UNION ALL
SELECT 2 + mod(productid, 5), productid, %(opening)s::timestamp - interval '700 days'
  FROM production.product WHERE mod(productid, 3) = 0;

INSERT INTO sales.shoppingcartitem (shoppingcartitemid, shoppingcartid, quantity, productid, datecreated, modifieddate)
SELECT i, (20000 + floor(generator.u(%(seed)s, 'cart', i) * 1000)::int)::text,
       1 + floor(generator.u(%(seed)s, 'cartq', i) * 5)::int,
       1 + floor(generator.u(%(seed)s, 'cartp', i) * (SELECT count(*) FROM production.product))::int,
       at, at
  FROM generate_series(1, 5 * %(size)s) AS i,
       LATERAL (SELECT %(opening)s::timestamp - floor(1 + generator.u(%(seed)s, 'cartd', i) * 30) * interval '1 day'
                       + floor(generator.u(%(seed)s, 'carth', i) * 86400) * interval '1 second' AS at) AS x;

-- ── currency rates USD → each rate currency, for each of the 90 days before opening ──
INSERT INTO sales.currencyrate (currencyrateid, currencyratedate, fromcurrencycode, tocurrencycode, averagerate,
                                endofdayrate, modifieddate)
SELECT (d::date - date '2000-01-01') * 100 + c.idx, d, 'USD', c.code,
       round((c.rate * (0.99 + 0.02 * generator.u(%(seed)s, 'avgrate', (d::date - date '2000-01-01') * 100 + c.idx)))::numeric, 4),
       round((c.rate * (0.99 + 0.02 * generator.u(%(seed)s, 'eodrate', (d::date - date '2000-01-01') * 100 + c.idx)))::numeric, 4),
       d
  FROM generate_series(%(opening)s::timestamp - interval '90 days', %(opening)s::timestamp - interval '1 day',
                       interval '1 day') AS d,
       unnest(%(rate_codes)s::text[], %(rate_base)s::float8[]) WITH ORDINALITY AS c (code, rate, idx);

-- ── 150 × size orders over the 90 days before opening ──────────────────────
-- Individuals order online (no sales person); stores through their sales person,
-- 30 %% of them in a foreign currency. Orders older than a week are shipped.
INSERT INTO sales.salesorderheader (salesorderid, revisionnumber, orderdate, duedate, shipdate, status, onlineorderflag,
                                    purchaseordernumber, accountnumber, customerid, salespersonid, territoryid,
                                    shipmethodid, currencyrateid, modifieddate)
SELECT o.id, 8, o.orderdate, o.orderdate + interval '12 days',
       CASE WHEN o.shipped THEN o.orderdate + interval '7 days' END,
       CASE WHEN o.shipped THEN 5 ELSE 1 END,
       c.storeid IS NULL,
       CASE WHEN c.storeid IS NOT NULL THEN 'PO' || (1000000000 + o.id) END,
       '10-4020-' || lpad(c.customerid::text, 6, '0'),
       c.customerid, st.salespersonid, c.territoryid,
       CASE WHEN c.storeid IS NULL THEN 1 ELSE 1 + floor(generator.u(%(seed)s, 'ship', o.id) * 5)::int END,
       CASE WHEN c.storeid IS NOT NULL AND generator.u(%(seed)s, 'fx', o.id) < 0.3
            THEN (o.orderdate::date - date '2000-01-01') * 100
                 + 1 + floor(generator.u(%(seed)s, 'fxcode', o.id) * cardinality(%(rate_codes)s::text[]))::int END,
       CASE WHEN o.shipped THEN o.orderdate + interval '7 days' ELSE o.orderdate END
           + floor(generator.u(%(seed)s, 'ohour', o.id) * 23) * interval '1 hour'
  FROM (SELECT 43658 + i AS id,
               1 + floor(generator.u(%(seed)s, 'ocust', i) * 70 * %(size)s)::int AS customerid,
               %(opening)s::timestamp - (1 + floor(generator.u(%(seed)s, 'oday', i) * 90)) * interval '1 day' AS orderdate
          FROM generate_series(1, 150 * %(size)s) AS i) AS o0
  CROSS JOIN LATERAL (SELECT o0.id, o0.orderdate, o0.orderdate <= %(opening)s::timestamp - interval '8 days' AS shipped) AS o
  JOIN sales.customer AS c ON c.customerid = o0.customerid
  LEFT JOIN sales.store AS st ON st.businessentityid = c.storeid;

INSERT INTO sales.salesorderdetail (salesorderid, salesorderdetailid, carriertrackingnumber, orderqty, productid,
                                    specialofferid, unitprice, unitpricediscount, modifieddate)
SELECT l.salesorderid, row_number() OVER (ORDER BY l.salesorderid, l.line),
       CASE WHEN NOT l.onlineorderflag THEN upper(substr(md5(l.salesorderid::text || '-' || l.line), 1, 12)) END,
       l.qty, l.productid, l.offer, p.listprice, so.discountpct, l.orderdate
  FROM (SELECT h.salesorderid, h.orderdate, h.onlineorderflag, n.line,
               pr.productid,
               CASE WHEN mod(pr.productid, 3) = 0 AND generator.u(%(seed)s, 'offer', h.salesorderid * 8 + n.line) < 0.5
                    THEN 2 + mod(pr.productid, 5) ELSE 1 END AS offer,
               1 + floor(generator.u(%(seed)s, 'qty', h.salesorderid * 8 + n.line)
                         * CASE WHEN h.onlineorderflag THEN 3 ELSE 12 END)::int AS qty
          FROM sales.salesorderheader AS h
          CROSS JOIN LATERAL generate_series(1, 1 + floor(generator.u(%(seed)s, 'lines', h.salesorderid) * 5)::int) AS n (line)
          CROSS JOIN LATERAL (SELECT 1 + floor(generator.u(%(seed)s, 'lprod', h.salesorderid * 8 + n.line)
                                               * (SELECT count(*) FROM production.product))::int AS productid) AS pr) AS l
  JOIN production.product AS p ON p.productid = l.productid
  JOIN sales.specialoffer AS so ON so.specialofferid = l.offer;

UPDATE sales.salesorderheader AS h
   SET subtotal = s.subtotal, taxamt = round(s.subtotal * 0.08, 4), freight = round(s.subtotal * 0.025, 4)
  FROM (SELECT salesorderid, round(sum(linetotal), 4) AS subtotal FROM sales.salesorderdetail GROUP BY salesorderid) AS s
 WHERE s.salesorderid = h.salesorderid;

INSERT INTO sales.salesorderheadersalesreason (salesorderid, salesreasonid, modifieddate)
SELECT h.salesorderid, r.reason, h.orderdate
  FROM sales.salesorderheader AS h
  CROSS JOIN LATERAL (SELECT 1 + floor(generator.u(%(seed)s, 'reason', h.salesorderid) * 10)::int AS first) AS f
  CROSS JOIN LATERAL (SELECT f.first AS reason
                      UNION ALL
                      SELECT 1 + mod(f.first, 10) WHERE generator.u(%(seed)s, 'reason2', h.salesorderid) < 0.3) AS r
 WHERE h.onlineorderflag;
