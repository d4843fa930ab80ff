-- The generated `bikes` source: an AdventureWorks-shaped OLTP database (the tables the
-- pipeline reads, with their keys, foreign keys and AdventureWorks' CHECK constraints).
-- Idempotent: IF NOT EXISTS / OR REPLACE throughout.

CREATE SCHEMA IF NOT EXISTS person;
CREATE SCHEMA IF NOT EXISTS humanresources;
CREATE SCHEMA IF NOT EXISTS production;
CREATE SCHEMA IF NOT EXISTS purchasing;
CREATE SCHEMA IF NOT EXISTS sales;

-- ── person, humanresources ─────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS person.person (
    businessentityid  integer PRIMARY KEY,
    persontype        char(2) NOT NULL CHECK (upper(persontype) IN ('SC', 'VC', 'IN', 'EM', 'SP', 'GC')),
    namestyle         boolean NOT NULL DEFAULT false,
    title             varchar(8),
    firstname         varchar(50) NOT NULL,
    middlename        varchar(50),
    lastname          varchar(50) NOT NULL,
    suffix            varchar(10),
    emailpromotion    integer NOT NULL DEFAULT 0 CHECK (emailpromotion BETWEEN 0 AND 2),
    modifieddate      timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS humanresources.employee (
    businessentityid  integer PRIMARY KEY REFERENCES person.person,
    nationalidnumber  varchar(15) NOT NULL,
    loginid           varchar(256) NOT NULL,
    jobtitle          varchar(50) NOT NULL,
    birthdate         date NOT NULL CHECK (birthdate BETWEEN '1930-01-01' AND now() - interval '18 years'),
    maritalstatus     char(1) NOT NULL CHECK (upper(maritalstatus) IN ('M', 'S')),
    gender            char(1) NOT NULL CHECK (upper(gender) IN ('M', 'F')),
    hiredate          date NOT NULL CHECK (hiredate BETWEEN '1996-07-01' AND now() + interval '1 day'),
    salariedflag      boolean NOT NULL DEFAULT true,
    vacationhours     smallint NOT NULL DEFAULT 0 CHECK (vacationhours BETWEEN -40 AND 240),
    sickleavehours    smallint NOT NULL DEFAULT 0 CHECK (sickleavehours BETWEEN 0 AND 120),
    currentflag       boolean NOT NULL DEFAULT true,
    modifieddate      timestamp NOT NULL DEFAULT now()
);

-- ── production, purchasing ─────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS production.product (
    productid          integer PRIMARY KEY,
    name               varchar(50) NOT NULL UNIQUE,
    productnumber      varchar(25) NOT NULL UNIQUE,
    makeflag           boolean NOT NULL DEFAULT true,
    finishedgoodsflag  boolean NOT NULL DEFAULT true,
    color              varchar(15),
    safetystocklevel   smallint NOT NULL CHECK (safetystocklevel > 0),
    reorderpoint       smallint NOT NULL CHECK (reorderpoint > 0),
    standardcost       numeric(19, 4) NOT NULL CHECK (standardcost >= 0),
    listprice          numeric(19, 4) NOT NULL CHECK (listprice >= 0),
    size               varchar(5),
    weight             numeric(8, 2) CHECK (weight > 0),
    daystomanufacture  integer NOT NULL CHECK (daystomanufacture >= 0),
    productline        char(2) CHECK (upper(productline) IN ('S', 'T', 'M', 'R') OR productline IS NULL),
    class              char(2) CHECK (upper(class) IN ('L', 'M', 'H') OR class IS NULL),
    style              char(2) CHECK (upper(style) IN ('W', 'M', 'U') OR style IS NULL),
    sellstartdate      timestamp NOT NULL,
    sellenddate        timestamp CHECK (sellenddate >= sellstartdate OR sellenddate IS NULL),
    discontinueddate   timestamp,
    modifieddate       timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS purchasing.shipmethod (
    shipmethodid  integer PRIMARY KEY,
    name          varchar(50) NOT NULL UNIQUE,
    shipbase      numeric(19, 4) NOT NULL CHECK (shipbase > 0),
    shiprate      numeric(19, 4) NOT NULL CHECK (shiprate > 0),
    modifieddate  timestamp NOT NULL DEFAULT now()
);

-- ── sales: reference data ──────────────────────────────────────────────────
-- (AdventureWorks' sales.currency is served by the currency API here, so no FK to it.)
CREATE TABLE IF NOT EXISTS sales.currencyrate (
    currencyrateid    integer PRIMARY KEY,
    currencyratedate  timestamp NOT NULL,
    fromcurrencycode  char(3) NOT NULL,
    tocurrencycode    char(3) NOT NULL,
    averagerate       numeric(19, 4) NOT NULL,
    endofdayrate      numeric(19, 4) NOT NULL,
    modifieddate      timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.salesreason (
    salesreasonid  integer PRIMARY KEY,
    name           varchar(50) NOT NULL,
    reasontype     varchar(50) NOT NULL,
    modifieddate   timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.salesterritory (
    territoryid        integer PRIMARY KEY,
    name               varchar(50) NOT NULL UNIQUE,
    countryregioncode  varchar(3) NOT NULL,
    "group"            varchar(50) NOT NULL,
    salesytd           numeric(19, 4) NOT NULL DEFAULT 0 CHECK (salesytd >= 0),
    saleslastyear      numeric(19, 4) NOT NULL DEFAULT 0 CHECK (saleslastyear >= 0),
    costytd            numeric(19, 4) NOT NULL DEFAULT 0 CHECK (costytd >= 0),
    costlastyear       numeric(19, 4) NOT NULL DEFAULT 0 CHECK (costlastyear >= 0),
    modifieddate       timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.specialoffer (
    specialofferid  integer PRIMARY KEY,
    description     varchar(255) NOT NULL,
    discountpct     numeric(10, 4) NOT NULL DEFAULT 0 CHECK (discountpct >= 0),
    type            varchar(50) NOT NULL,
    category        varchar(50) NOT NULL,
    startdate       timestamp NOT NULL,
    enddate         timestamp NOT NULL CHECK (enddate >= startdate),
    minqty          integer NOT NULL DEFAULT 0 CHECK (minqty >= 0),
    maxqty          integer CHECK (maxqty >= 0),
    modifieddate    timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.salesperson (
    businessentityid  integer PRIMARY KEY REFERENCES humanresources.employee,
    territoryid       integer REFERENCES sales.salesterritory,
    salesquota        numeric(19, 4) CHECK (salesquota > 0),
    bonus             numeric(19, 4) NOT NULL DEFAULT 0 CHECK (bonus >= 0),
    commissionpct     numeric(10, 4) NOT NULL DEFAULT 0 CHECK (commissionpct >= 0),
    salesytd          numeric(19, 4) NOT NULL DEFAULT 0 CHECK (salesytd >= 0),
    saleslastyear     numeric(19, 4) NOT NULL DEFAULT 0 CHECK (saleslastyear >= 0),
    modifieddate      timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.store (
    businessentityid  integer PRIMARY KEY,
    name              varchar(50) NOT NULL,
    salespersonid     integer REFERENCES sales.salesperson,
    modifieddate      timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.customer (
    customerid     integer PRIMARY KEY,
    personid       integer REFERENCES person.person,
    storeid        integer REFERENCES sales.store,
    territoryid    integer REFERENCES sales.salesterritory,
    accountnumber  varchar(10) GENERATED ALWAYS AS ('AW' || lpad(customerid::text, 8, '0')) STORED,
    modifieddate   timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.specialofferproduct (
    specialofferid  integer NOT NULL REFERENCES sales.specialoffer,
    productid       integer NOT NULL REFERENCES production.product,
    modifieddate    timestamp NOT NULL DEFAULT now(),
    PRIMARY KEY (specialofferid, productid)
);

CREATE TABLE IF NOT EXISTS sales.salespersonquotahistory (
    businessentityid  integer NOT NULL REFERENCES sales.salesperson,
    quotadate         timestamp NOT NULL,
    salesquota        numeric(19, 4) NOT NULL CHECK (salesquota > 0),
    modifieddate      timestamp NOT NULL DEFAULT now(),
    PRIMARY KEY (businessentityid, quotadate)
);

CREATE TABLE IF NOT EXISTS sales.salesterritoryhistory (
    businessentityid  integer NOT NULL REFERENCES sales.salesperson,
    territoryid       integer NOT NULL REFERENCES sales.salesterritory,
    startdate         timestamp NOT NULL,
    enddate           timestamp CHECK (enddate >= startdate OR enddate IS NULL),
    modifieddate      timestamp NOT NULL DEFAULT now(),
    PRIMARY KEY (businessentityid, startdate, territoryid)
);

CREATE TABLE IF NOT EXISTS sales.shoppingcartitem (
    shoppingcartitemid  integer PRIMARY KEY,
    shoppingcartid      varchar(50) NOT NULL,
    quantity            integer NOT NULL DEFAULT 1 CHECK (quantity >= 1),
    productid           integer NOT NULL REFERENCES production.product,
    datecreated         timestamp NOT NULL DEFAULT now(),
    modifieddate        timestamp NOT NULL DEFAULT now()
);

-- ── sales: orders ──────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS sales.salesorderheader (
    salesorderid         integer PRIMARY KEY,
    revisionnumber       smallint NOT NULL DEFAULT 0,
    orderdate            timestamp NOT NULL,
    duedate              timestamp NOT NULL CHECK (duedate >= orderdate),
    shipdate             timestamp CHECK (shipdate >= orderdate OR shipdate IS NULL),
    status               smallint NOT NULL DEFAULT 1 CHECK (status BETWEEN 0 AND 8),
    onlineorderflag      boolean NOT NULL DEFAULT true,
    purchaseordernumber  varchar(25),
    accountnumber        varchar(15),
    customerid           integer NOT NULL REFERENCES sales.customer,
    salespersonid        integer REFERENCES sales.salesperson,
    territoryid          integer REFERENCES sales.salesterritory,
    shipmethodid         integer NOT NULL REFERENCES purchasing.shipmethod,
    currencyrateid       integer REFERENCES sales.currencyrate,
    subtotal             numeric(19, 4) NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
    taxamt               numeric(19, 4) NOT NULL DEFAULT 0 CHECK (taxamt >= 0),
    freight              numeric(19, 4) NOT NULL DEFAULT 0 CHECK (freight >= 0),
    totaldue             numeric(19, 4) GENERATED ALWAYS AS (subtotal + taxamt + freight) STORED,
    comment              varchar(128),
    modifieddate         timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales.salesorderdetail (
    salesorderid           integer NOT NULL REFERENCES sales.salesorderheader ON DELETE CASCADE,
    salesorderdetailid     integer GENERATED BY DEFAULT AS IDENTITY,
    carriertrackingnumber  varchar(25),
    orderqty               smallint NOT NULL CHECK (orderqty > 0),
    productid              integer NOT NULL,
    specialofferid         integer NOT NULL,
    unitprice              numeric(19, 4) NOT NULL CHECK (unitprice >= 0),
    unitpricediscount      numeric(19, 4) NOT NULL DEFAULT 0 CHECK (unitpricediscount >= 0),
    linetotal              numeric(38, 6) GENERATED ALWAYS AS (round(unitprice * (1.0 - unitpricediscount) * orderqty, 6)) STORED,
    modifieddate           timestamp NOT NULL DEFAULT now(),
    PRIMARY KEY (salesorderid, salesorderdetailid),
    FOREIGN KEY (specialofferid, productid) REFERENCES sales.specialofferproduct
);

CREATE TABLE IF NOT EXISTS sales.salesorderheadersalesreason (
    salesorderid   integer NOT NULL REFERENCES sales.salesorderheader ON DELETE CASCADE,
    salesreasonid  integer NOT NULL REFERENCES sales.salesreason,
    modifieddate   timestamp NOT NULL DEFAULT now(),
    PRIMARY KEY (salesorderid, salesreasonid)
);

-- Incremental extraction reads by modifieddate (AdventureWorks itself has no such indexes).
CREATE INDEX IF NOT EXISTS salesorderheader_modifieddate_idx ON sales.salesorderheader (modifieddate);
CREATE INDEX IF NOT EXISTS salesorderdetail_modifieddate_idx ON sales.salesorderdetail (modifieddate);
CREATE INDEX IF NOT EXISTS salesorderheadersalesreason_modifieddate_idx ON sales.salesorderheadersalesreason (modifieddate);
CREATE INDEX IF NOT EXISTS customer_modifieddate_idx ON sales.customer (modifieddate);
CREATE INDEX IF NOT EXISTS person_modifieddate_idx ON person.person (modifieddate);
