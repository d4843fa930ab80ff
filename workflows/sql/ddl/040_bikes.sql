-- bikes: staging mirrors of the AdventureWorks source tables (upserted on their keys, `ds` = the day a
-- row last changed), the product price/cost history, and the star schema in schema `bikes`.

CREATE SCHEMA IF NOT EXISTS bikes;

-- ── staging.upsert_incoming: the merge every bikes table's Load runs ────────────
-- Upserts the rows of temp table `incoming` (COPY'd by Load) into `target` on its primary key.
-- A staged row is replaced only by a row whose `watermark` is not older and whose values differ,
-- so re-running a day, or loading an older day after a newer one, changes nothing. `deleted_at` is
-- not the source's: staging.mark_deleted (060_incremental.sql) owns it. Identifiers come from the
-- catalog and are quoted with format('%I'). Returns the rows inserted or changed.
CREATE OR REPLACE FUNCTION staging.upsert_incoming(target regclass, watermark text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    key_cols  text;
    all_cols  text;
    set_cols  text;
    old_vals  text;
    new_vals  text;
    changed   bigint;
BEGIN
    WITH cols AS (
        SELECT a.attname, a.attnum, array_position(i.indkey::int2[], a.attnum) AS key_pos
          FROM pg_attribute AS a
          JOIN pg_index AS i ON i.indrelid = a.attrelid AND i.indisprimary
         WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped
    )
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY key_pos) FILTER (WHERE key_pos IS NOT NULL),
           string_agg(quote_ident(attname), ', ' ORDER BY attnum),
           string_agg(format('%1$I = EXCLUDED.%1$I', attname), ', ' ORDER BY attnum)
               FILTER (WHERE key_pos IS NULL AND attname <> 'deleted_at'),
           string_agg(format('t.%I', attname), ', ' ORDER BY attnum)
               FILTER (WHERE key_pos IS NULL AND attname NOT IN ('ds', 'deleted_at')),
           string_agg(format('EXCLUDED.%I', attname), ', ' ORDER BY attnum)
               FILTER (WHERE key_pos IS NULL AND attname NOT IN ('ds', 'deleted_at'))
      INTO key_cols, all_cols, set_cols, old_vals, new_vals
      FROM cols;
    IF key_cols IS NULL THEN
        RAISE EXCEPTION 'staging.upsert_incoming: % has no primary key', target;
    END IF;
    EXECUTE format(
        'INSERT INTO %s AS t (%s) SELECT %s FROM incoming ON CONFLICT (%s) DO UPDATE SET %s '
        'WHERE t.%I <= EXCLUDED.%I AND (%s) IS DISTINCT FROM (%s)',
        target, all_cols, all_cols, key_cols, set_cols, watermark, watermark, old_vals, new_vals);
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;

-- ── staging: one table per source table (same columns and types, plus ds) ──────
CREATE TABLE IF NOT EXISTS staging.bikes_person (   -- person.person
    ds                date NOT NULL,
    businessentityid  integer NOT NULL,
    persontype        char(2),
    namestyle         boolean,
    title             varchar(8),
    firstname         varchar(50),
    middlename        varchar(50),
    lastname          varchar(50),
    suffix            varchar(10),
    emailpromotion    integer,
    modifieddate      timestamp,
    PRIMARY KEY (businessentityid)
);
CREATE INDEX IF NOT EXISTS bikes_person_ds_idx ON staging.bikes_person (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_employee (   -- humanresources.employee
    ds                date NOT NULL,
    businessentityid  integer NOT NULL,
    nationalidnumber  varchar(15),
    loginid           varchar(256),
    jobtitle          varchar(50),
    birthdate         date,
    maritalstatus     char(1),
    gender            char(1),
    hiredate          date,
    salariedflag      boolean,
    vacationhours     smallint,
    sickleavehours    smallint,
    currentflag       boolean,
    modifieddate      timestamp,
    PRIMARY KEY (businessentityid)
);
CREATE INDEX IF NOT EXISTS bikes_employee_ds_idx ON staging.bikes_employee (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_product (   -- production.product
    ds                 date NOT NULL,
    productid          integer NOT NULL,
    name               varchar(50),
    productnumber      varchar(25),
    makeflag           boolean,
    finishedgoodsflag  boolean,
    color              varchar(15),
    safetystocklevel   smallint,
    reorderpoint       smallint,
    standardcost       numeric(19,4),
    listprice          numeric(19,4),
    size               varchar(5),
    weight             numeric(8,2),
    daystomanufacture  integer,
    productline        char(2),
    class              char(2),
    style              char(2),
    sellstartdate      timestamp,
    sellenddate        timestamp,
    discontinueddate   timestamp,
    modifieddate       timestamp,
    PRIMARY KEY (productid)
);
CREATE INDEX IF NOT EXISTS bikes_product_ds_idx ON staging.bikes_product (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_shipmethod (   -- purchasing.shipmethod
    ds            date NOT NULL,
    shipmethodid  integer NOT NULL,
    name          varchar(50),
    shipbase      numeric(19,4),
    shiprate      numeric(19,4),
    modifieddate  timestamp,
    PRIMARY KEY (shipmethodid)
);
CREATE INDEX IF NOT EXISTS bikes_shipmethod_ds_idx ON staging.bikes_shipmethod (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_currencyrate (   -- sales.currencyrate
    ds                date NOT NULL,
    currencyrateid    integer NOT NULL,
    currencyratedate  timestamp,
    fromcurrencycode  char(3),
    tocurrencycode    char(3),
    averagerate       numeric(19,4),
    endofdayrate      numeric(19,4),
    modifieddate      timestamp,
    PRIMARY KEY (currencyrateid)
);
CREATE INDEX IF NOT EXISTS bikes_currencyrate_ds_idx ON staging.bikes_currencyrate (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salesreason (   -- sales.salesreason
    ds             date NOT NULL,
    salesreasonid  integer NOT NULL,
    name           varchar(50),
    reasontype     varchar(50),
    modifieddate   timestamp,
    PRIMARY KEY (salesreasonid)
);
CREATE INDEX IF NOT EXISTS bikes_salesreason_ds_idx ON staging.bikes_salesreason (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salesterritory (   -- sales.salesterritory
    ds                 date NOT NULL,
    territoryid        integer NOT NULL,
    name               varchar(50),
    countryregioncode  varchar(3),
    "group"            varchar(50),
    salesytd           numeric(19,4),
    saleslastyear      numeric(19,4),
    costytd            numeric(19,4),
    costlastyear       numeric(19,4),
    modifieddate       timestamp,
    PRIMARY KEY (territoryid)
);
CREATE INDEX IF NOT EXISTS bikes_salesterritory_ds_idx ON staging.bikes_salesterritory (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_specialoffer (   -- sales.specialoffer
    ds              date NOT NULL,
    specialofferid  integer NOT NULL,
    description     varchar(255),
    discountpct     numeric(10,4),
    type            varchar(50),
    category        varchar(50),
    startdate       timestamp,
    enddate         timestamp,
    minqty          integer,
    maxqty          integer,
    modifieddate    timestamp,
    PRIMARY KEY (specialofferid)
);
CREATE INDEX IF NOT EXISTS bikes_specialoffer_ds_idx ON staging.bikes_specialoffer (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salesperson (   -- sales.salesperson
    ds                date NOT NULL,
    businessentityid  integer NOT NULL,
    territoryid       integer,
    salesquota        numeric(19,4),
    bonus             numeric(19,4),
    commissionpct     numeric(10,4),
    salesytd          numeric(19,4),
    saleslastyear     numeric(19,4),
    modifieddate      timestamp,
    PRIMARY KEY (businessentityid)
);
CREATE INDEX IF NOT EXISTS bikes_salesperson_ds_idx ON staging.bikes_salesperson (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_store (   -- sales.store
    ds                date NOT NULL,
    businessentityid  integer NOT NULL,
    name              varchar(50),
    salespersonid     integer,
    modifieddate      timestamp,
    PRIMARY KEY (businessentityid)
);
CREATE INDEX IF NOT EXISTS bikes_store_ds_idx ON staging.bikes_store (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_customer (   -- sales.customer
    ds             date NOT NULL,
    customerid     integer NOT NULL,
    personid       integer,
    storeid        integer,
    territoryid    integer,
    accountnumber  varchar(10),
    modifieddate   timestamp,
    PRIMARY KEY (customerid)
);
CREATE INDEX IF NOT EXISTS bikes_customer_ds_idx ON staging.bikes_customer (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_specialofferproduct (   -- sales.specialofferproduct
    ds              date NOT NULL,
    specialofferid  integer NOT NULL,
    productid       integer NOT NULL,
    modifieddate    timestamp,
    PRIMARY KEY (specialofferid, productid)
);
CREATE INDEX IF NOT EXISTS bikes_specialofferproduct_ds_idx ON staging.bikes_specialofferproduct (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salespersonquotahistory (   -- sales.salespersonquotahistory
    ds                date NOT NULL,
    businessentityid  integer NOT NULL,
    quotadate         timestamp NOT NULL,
    salesquota        numeric(19,4),
    modifieddate      timestamp,
    PRIMARY KEY (businessentityid, quotadate)
);
CREATE INDEX IF NOT EXISTS bikes_salespersonquotahistory_ds_idx ON staging.bikes_salespersonquotahistory (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salesterritoryhistory (   -- sales.salesterritoryhistory
    ds                date NOT NULL,
    businessentityid  integer NOT NULL,
    territoryid       integer NOT NULL,
    startdate         timestamp NOT NULL,
    enddate           timestamp,
    modifieddate      timestamp,
    PRIMARY KEY (businessentityid, startdate, territoryid)
);
CREATE INDEX IF NOT EXISTS bikes_salesterritoryhistory_ds_idx ON staging.bikes_salesterritoryhistory (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_shoppingcartitem (   -- sales.shoppingcartitem
    ds                  date NOT NULL,
    shoppingcartitemid  integer NOT NULL,
    shoppingcartid      varchar(50),
    quantity            integer,
    productid           integer,
    datecreated         timestamp,
    modifieddate        timestamp,
    PRIMARY KEY (shoppingcartitemid)
);
CREATE INDEX IF NOT EXISTS bikes_shoppingcartitem_ds_idx ON staging.bikes_shoppingcartitem (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salesorderheader (   -- sales.salesorderheader
    ds                   date NOT NULL,
    salesorderid         integer NOT NULL,
    revisionnumber       smallint,
    orderdate            timestamp,
    duedate              timestamp,
    shipdate             timestamp,
    status               smallint,
    onlineorderflag      boolean,
    purchaseordernumber  varchar(25),
    accountnumber        varchar(15),
    customerid           integer,
    salespersonid        integer,
    territoryid          integer,
    shipmethodid         integer,
    currencyrateid       integer,
    subtotal             numeric(19,4),
    taxamt               numeric(19,4),
    freight              numeric(19,4),
    totaldue             numeric(19,4),
    comment              varchar(128),
    modifieddate         timestamp,
    PRIMARY KEY (salesorderid)
);
CREATE INDEX IF NOT EXISTS bikes_salesorderheader_ds_idx ON staging.bikes_salesorderheader (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salesorderdetail (   -- sales.salesorderdetail
    ds                     date NOT NULL,
    salesorderid           integer NOT NULL,
    salesorderdetailid     integer NOT NULL,
    carriertrackingnumber  varchar(25),
    orderqty               smallint,
    productid              integer,
    specialofferid         integer,
    unitprice              numeric(19,4),
    unitpricediscount      numeric(19,4),
    linetotal              numeric(38,6),
    modifieddate           timestamp,
    PRIMARY KEY (salesorderid, salesorderdetailid)
);
CREATE INDEX IF NOT EXISTS bikes_salesorderdetail_ds_idx ON staging.bikes_salesorderdetail (ds);

CREATE TABLE IF NOT EXISTS staging.bikes_salesorderheadersalesreason (   -- sales.salesorderheadersalesreason
    ds             date NOT NULL,
    salesorderid   integer NOT NULL,
    salesreasonid  integer NOT NULL,
    modifieddate   timestamp,
    PRIMARY KEY (salesorderid, salesreasonid)
);
CREATE INDEX IF NOT EXISTS bikes_salesorderheadersalesreason_ds_idx ON staging.bikes_salesorderheadersalesreason (ds);

-- The currency API's records (sales.currency in AdventureWorks).
CREATE TABLE IF NOT EXISTS staging.bikes_currency (
    ds            date NOT NULL,
    currencycode  char(3) NOT NULL,
    name          varchar(50),
    modifieddate  timestamp,
    PRIMARY KEY (currencycode)
);
CREATE INDEX IF NOT EXISTS bikes_currency_ds_idx ON staging.bikes_currency (ds);

-- Every (list price, standard cost) a product was seen with, by its modifieddate: the input of
-- dim_product's type-2 versions, kept whatever order the days are loaded in.
CREATE TABLE IF NOT EXISTS staging.bikes_product_history (
    productid     integer NOT NULL,
    modifieddate  timestamp NOT NULL,
    listprice     numeric(19, 4),
    standardcost  numeric(19, 4),
    ds            date NOT NULL,           -- the day this version was first loaded
    PRIMARY KEY (productid, modifieddate)
);
CREATE INDEX IF NOT EXISTS bikes_product_history_ds_idx ON staging.bikes_product_history (ds);

-- Deleted source rows stay in staging, flagged: `deleted_at` = when the warehouse first saw the key gone
-- from the table's key snapshot (staging.mark_deleted, run by each table's Load). Added only when
-- missing: an ALTER would wait on the locks of readers.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['person', 'employee', 'product', 'shipmethod', 'currencyrate', 'salesreason',
                             'salesterritory', 'specialoffer', 'salesperson', 'store', 'customer',
                             'specialofferproduct', 'salespersonquotahistory', 'salesterritoryhistory',
                             'shoppingcartitem', 'salesorderheader', 'salesorderdetail',
                             'salesorderheadersalesreason'] LOOP
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                        WHERE table_schema = 'staging' AND table_name = 'bikes_' || t AND column_name = 'deleted_at') THEN
            EXECUTE format('ALTER TABLE staging.%I ADD COLUMN deleted_at timestamp', 'bikes_' || t);
        END IF;
    END LOOP;
END
$$;

-- The surrogate key of each product version, assigned once (by dim_product's build) and never changed:
-- a version is the price-history change that starts it (productid, changed_at), so a change that
-- arrives late inserts a version with a new key and renumbers nothing.
CREATE TABLE IF NOT EXISTS bikes.product_version_keys (
    product_key  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    productid    integer NOT NULL,
    changed_at   timestamp NOT NULL,       -- staging.bikes_product_history.modifieddate of the change
    UNIQUE (productid, changed_at)
);

-- Type-2 versions of each product: a new version whenever list price or standard cost changes, and
-- every change that was once a version start (it has a key) stays one. version 1 is valid from the
-- product's sell start (or its first change, if earlier); a version is valid until the next one starts;
-- the last one until the product is deleted in the source, or for ever. `version` is the ordinal of
-- the version (it moves when a late change arrives), `product_key` its stable key (NULL until
-- assigned). A function rather than a view: replacing it on every migration does not wait for the
-- marts reading it. (Dropped first only when an older signature, without changed_at, exists.)
DO $$
BEGIN
    IF to_regprocedure('bikes.product_versions()') IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_proc
                        WHERE oid = to_regprocedure('bikes.product_versions()') AND 'changed_at' = ANY (proargnames)) THEN
        DROP FUNCTION bikes.product_versions();
    END IF;
END
$$;
CREATE OR REPLACE FUNCTION bikes.product_versions()
RETURNS TABLE (product_key bigint, productid integer, version integer, changed_at timestamp, listprice numeric,
               standardcost numeric, valid_from timestamp, valid_to timestamp, is_current boolean)
LANGUAGE sql STABLE AS $$
WITH changes AS (
    SELECT h.productid, h.modifieddate, h.listprice, h.standardcost,
           (h.listprice, h.standardcost) IS DISTINCT FROM (lag(h.listprice) OVER w, lag(h.standardcost) OVER w)
               AS is_change
      FROM staging.bikes_product_history AS h
    WINDOW w AS (PARTITION BY h.productid ORDER BY h.modifieddate)
),
versions AS (
    SELECT c.productid, c.listprice, c.standardcost, c.modifieddate AS changed_at, k.product_key,
           row_number() OVER v AS version,
           lead(c.modifieddate) OVER v AS next_changed_at
      FROM changes AS c
      LEFT JOIN bikes.product_version_keys AS k ON k.productid = c.productid AND k.changed_at = c.modifieddate
     WHERE c.is_change OR k.product_key IS NOT NULL
    WINDOW v AS (PARTITION BY c.productid ORDER BY c.modifieddate)
)
SELECT v.product_key,
       v.productid,
       v.version::integer,
       v.changed_at,
       v.listprice,
       v.standardcost,
       CASE WHEN v.version = 1 THEN least(p.sellstartdate, v.changed_at) ELSE v.changed_at END,
       coalesce(v.next_changed_at, p.deleted_at, timestamp '9999-12-31'),
       v.next_changed_at IS NULL AND p.deleted_at IS NULL
  FROM versions AS v
  LEFT JOIN staging.bikes_product AS p ON p.productid = v.productid
$$;

-- A warehouse built when product_key was productid × 10000 + version keeps those keys: they are
-- recorded once as the versions' keys (new versions get keys above them).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM bikes.product_version_keys)
       AND to_regclass('bikes.dim_product') IS NOT NULL THEN
        EXECUTE $q$
            INSERT INTO bikes.product_version_keys (product_key, productid, changed_at)
            SELECT d.product_key, c.productid, c.modifieddate
              FROM (SELECT x.productid, x.modifieddate,
                           row_number() OVER (PARTITION BY x.productid ORDER BY x.modifieddate) AS version
                      FROM (SELECT h.productid, h.modifieddate,
                                   (h.listprice, h.standardcost) IS DISTINCT FROM
                                   (lag(h.listprice) OVER w, lag(h.standardcost) OVER w) AS is_change
                              FROM staging.bikes_product_history AS h
                            WINDOW w AS (PARTITION BY h.productid ORDER BY h.modifieddate)) AS x
                     WHERE x.is_change) AS c
              JOIN bikes.dim_product AS d ON d.product_id = c.productid AND d.version = c.version
             WHERE d.product_key = c.productid::bigint * 10000 + c.version$q$;
        PERFORM setval(pg_get_serial_sequence('bikes.product_version_keys', 'product_key'),
                       greatest((SELECT max(product_key) FROM bikes.product_version_keys), 1));
    END IF;
END
$$;

-- ── star schema: dimensions (key -1 = the explicit unknown member) ─────────────
CREATE TABLE IF NOT EXISTS bikes.dim_date (
    date_key      integer PRIMARY KEY,     -- YYYYMMDD
    date          date UNIQUE,
    year          integer,
    quarter       integer,
    month         integer,
    month_name    text,
    day_of_month  integer,
    day_of_week   integer,                 -- ISO: 1 = Monday
    day_name      text,
    week_of_year  integer,                 -- ISO week
    is_weekend    boolean
);

CREATE TABLE IF NOT EXISTS bikes.dim_customer (
    customer_key      integer PRIMARY KEY,
    customer_id       integer UNIQUE,
    account_number    varchar(10),
    customer_type     text,               -- individual | store | unknown
    customer_name     text,
    person_id         integer,
    store_id          integer,
    territory_id      integer,
    modified_at       timestamp,          -- the source's last change of the customer, its person or store
    ds                date
);

CREATE TABLE IF NOT EXISTS bikes.dim_product (
    product_key       bigint PRIMARY KEY,  -- bikes.product_version_keys: stable once assigned
    product_id        integer,
    version           integer,
    name              varchar(50),
    product_number    varchar(25),
    color             varchar(15),
    size              varchar(5),
    weight            numeric(8, 2),
    product_line      char(2),
    class             char(2),
    style             char(2),
    list_price        numeric(19, 4),      -- type 2
    standard_cost     numeric(19, 4),      -- type 2
    sell_start_at     timestamp,
    sell_end_at       timestamp,
    discontinued_at   timestamp,
    valid_from        timestamp NOT NULL,
    valid_to          timestamp NOT NULL,  -- exclusive; 9999-12-31 while current
    is_current        boolean NOT NULL,
    modified_at       timestamp,           -- the source's last change of the product
    ds                date
);
CREATE INDEX IF NOT EXISTS dim_product_product_id_idx ON bikes.dim_product (product_id);

CREATE TABLE IF NOT EXISTS bikes.dim_sales_person (
    sales_person_key  integer PRIMARY KEY,
    sales_person_id   integer UNIQUE,
    full_name         text,
    job_title         varchar(50),
    territory_id      integer,
    sales_quota       numeric(19, 4),
    bonus             numeric(19, 4),
    commission_pct    numeric(10, 4),
    sales_ytd         numeric(19, 4),
    hired_on          date,
    modified_at       timestamp,          -- the source's last change of the sales person, employee or person
    ds                date
);

CREATE TABLE IF NOT EXISTS bikes.dim_sales_territory (
    sales_territory_key  integer PRIMARY KEY,
    territory_id         integer UNIQUE,
    name                 varchar(50),
    country_region_code  varchar(3),
    territory_group      varchar(50),
    sales_ytd            numeric(19, 4),
    modified_at          timestamp,
    ds                   date
);

CREATE TABLE IF NOT EXISTS bikes.dim_store (
    store_key        integer PRIMARY KEY,
    store_id         integer UNIQUE,
    name             varchar(50),
    sales_person_id  integer,
    modified_at      timestamp,
    ds               date
);

CREATE TABLE IF NOT EXISTS bikes.dim_ship_method (
    ship_method_key  integer PRIMARY KEY,
    ship_method_id   integer UNIQUE,
    name             varchar(50),
    ship_base        numeric(19, 4),
    ship_rate        numeric(19, 4),
    modified_at      timestamp,
    ds               date
);

CREATE TABLE IF NOT EXISTS bikes.dim_special_offer (
    special_offer_key  integer PRIMARY KEY,
    special_offer_id   integer UNIQUE,
    description        varchar(255),
    discount_pct       numeric(10, 4),
    offer_type         varchar(50),
    category           varchar(50),
    starts_at          timestamp,
    ends_at            timestamp,
    min_qty            integer,
    max_qty            integer,
    modified_at        timestamp,
    ds                 date
);

CREATE TABLE IF NOT EXISTS bikes.dim_sales_reason (
    sales_reason_key  integer PRIMARY KEY,
    sales_reason_id   integer UNIQUE,
    name              varchar(50),
    reason_type       varchar(50),
    modified_at       timestamp,
    ds                date
);

-- Keyed by the ISO code; the unknown member is ISO 4217's 'XXX' ("no currency").
CREATE TABLE IF NOT EXISTS bikes.dim_currency (
    currency_key  char(3) PRIMARY KEY,
    name          varchar(50),
    modified_at   timestamp,
    ds            date
);

-- A dimension member whose source row is deleted is closed, never removed (facts may point to it):
-- type 1 dimensions get is_current = false and deleted_at; dim_product's last version is closed
-- (valid_to = deleted_at, is_current = false). Added only when missing.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['dim_customer', 'dim_product', 'dim_sales_person', 'dim_sales_territory', 'dim_store',
                             'dim_ship_method', 'dim_special_offer', 'dim_sales_reason'] LOOP
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                        WHERE table_schema = 'bikes' AND table_name = t AND column_name = 'deleted_at') THEN
            EXECUTE format('ALTER TABLE bikes.%I ADD COLUMN deleted_at timestamp', t);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                        WHERE table_schema = 'bikes' AND table_name = t AND column_name = 'is_current') THEN
            EXECUTE format('ALTER TABLE bikes.%I ADD COLUMN is_current boolean NOT NULL DEFAULT true', t);
        END IF;
    END LOOP;
END
$$;

-- ── star schema: facts ─────────────────────────────────────────────────────────
-- Order-line grain. The header's subtotal, tax and freight are allocated to its lines in
-- proportion to line_total (equal shares if the lines total 0); the last line takes the
-- rounding remainder, so each order's allocations sum exactly to its header.
CREATE TABLE IF NOT EXISTS bikes.fact_order (
    sales_order_id         integer NOT NULL,
    sales_order_detail_id  integer NOT NULL,
    order_date_key         integer NOT NULL,
    due_date_key           integer NOT NULL,
    ship_date_key          integer NOT NULL,
    customer_key           integer NOT NULL,
    sales_person_key       integer NOT NULL,
    sales_territory_key    integer NOT NULL,
    ship_method_key        integer NOT NULL,
    currency_key           char(3) NOT NULL,
    special_offer_key      integer NOT NULL,
    product_key            bigint  NOT NULL,   -- the product version valid at the order date
    order_status           smallint,
    is_online_order        boolean,
    order_qty              integer,
    unit_price             numeric(19, 4),
    unit_price_discount    numeric(19, 4),
    line_total             numeric(38, 6),
    subtotal_allocated     numeric(19, 4),
    tax_allocated          numeric(19, 4),
    freight_allocated      numeric(19, 4),
    modified_at            timestamp,          -- the source's last change of the line or its header
    ds                     date NOT NULL,      -- the day the line was last loaded (its staging ds)
    PRIMARY KEY (sales_order_id, sales_order_detail_id)
);
CREATE INDEX IF NOT EXISTS fact_order_ds_idx ON bikes.fact_order (ds);
CREATE INDEX IF NOT EXISTS fact_order_product_key_idx ON bikes.fact_order (product_key);

-- Order × sales reason.
CREATE TABLE IF NOT EXISTS bikes.fact_order_reason (
    sales_order_id    integer NOT NULL,
    sales_reason_id   integer NOT NULL,
    sales_reason_key  integer NOT NULL,
    order_date_key    integer NOT NULL,
    customer_key      integer NOT NULL,
    modified_at       timestamp,
    ds                date NOT NULL,
    PRIMARY KEY (sales_order_id, sales_reason_id)
);
CREATE INDEX IF NOT EXISTS fact_order_reason_ds_idx ON bikes.fact_order_reason (ds);

-- ── the unknown members ────────────────────────────────────────────────────────
INSERT INTO bikes.dim_date (date_key, month_name, day_name) VALUES (-1, 'Unknown', 'Unknown') ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_customer (customer_key, customer_type, customer_name) VALUES (-1, 'unknown', 'Unknown')
    ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_product (product_key, version, name, valid_from, valid_to, is_current)
    VALUES (-1, 0, 'Unknown', '1900-01-01', '9999-12-31', true) ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_sales_person (sales_person_key, full_name) VALUES (-1, 'Unknown') ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_sales_territory (sales_territory_key, name) VALUES (-1, 'Unknown') ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_store (store_key, name) VALUES (-1, 'Unknown') ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_ship_method (ship_method_key, name) VALUES (-1, 'Unknown') ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_special_offer (special_offer_key, description) VALUES (-1, 'Unknown') ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_sales_reason (sales_reason_key, name) VALUES (-1, 'Unknown') ON CONFLICT DO NOTHING;
INSERT INTO bikes.dim_currency (currency_key, name) VALUES ('XXX', 'Unknown') ON CONFLICT DO NOTHING;
