-- FakeStore: staging (one partition per ds, replaced whole by Load) and marts.

-- ── staging ────────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS staging.fakestore_products (
    ds            date     NOT NULL,
    product_id    bigint   NOT NULL,
    title         text,
    price         numeric(12, 2),
    description   text,
    category      text,
    image_url     text,
    rating_rate   numeric(3, 1),
    rating_count  integer
);
CREATE INDEX IF NOT EXISTS fakestore_products_ds_idx ON staging.fakestore_products (ds);

CREATE TABLE IF NOT EXISTS staging.fakestore_users (
    ds             date    NOT NULL,
    user_id        bigint  NOT NULL,
    email          text,
    username       text,
    first_name     text,
    last_name      text,
    city           text,
    street         text,
    street_number  integer,
    zipcode        text,
    latitude       double precision,
    longitude      double precision,
    phone          text
);
CREATE INDEX IF NOT EXISTS fakestore_users_ds_idx ON staging.fakestore_users (ds);

CREATE TABLE IF NOT EXISTS staging.fakestore_carts (
    ds          date         NOT NULL,
    cart_id     bigint       NOT NULL,
    user_id     bigint,
    ordered_at  timestamptz,
    order_date  date,
    product_id  bigint       NOT NULL,
    quantity    integer
);
CREATE INDEX IF NOT EXISTS fakestore_carts_ds_idx ON staging.fakestore_carts (ds);

-- ── marts ──────────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS mart.dim_product (
    product_id     bigint PRIMARY KEY,
    title          text,
    price          numeric(12, 2),
    description    text,
    category       text,
    image_url      text,
    rating_rate    numeric(3, 1),
    rating_count   integer,
    first_seen_ds  date NOT NULL,
    last_seen_ds   date NOT NULL
);

CREATE TABLE IF NOT EXISTS mart.dim_user (
    user_id        bigint PRIMARY KEY,
    email          text,
    username       text,
    first_name     text,
    last_name      text,
    city           text,
    street         text,
    street_number  integer,
    zipcode        text,
    latitude       double precision,
    longitude      double precision,
    phone          text,
    first_seen_ds  date NOT NULL,
    last_seen_ds   date NOT NULL
);

-- Cart-line grain: one row per (cart, product).
CREATE TABLE IF NOT EXISTS mart.fact_sales (
    cart_id     bigint  NOT NULL,
    product_id  bigint  NOT NULL,
    user_id     bigint,
    ordered_at  timestamptz,
    order_date  date,
    quantity    integer,
    unit_price  numeric(12, 2),
    line_total  numeric(14, 2),
    ds          date    NOT NULL,
    PRIMARY KEY (cart_id, product_id)
);
CREATE INDEX IF NOT EXISTS fact_sales_ds_idx ON mart.fact_sales (ds);
