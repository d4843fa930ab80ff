-- library: staging partitions (the rows each day changed, replaced whole by Load) and the warehouse
-- mirror of the application's tables in schema `library`, kept current by MERGE.

CREATE SCHEMA IF NOT EXISTS library;

-- ── staging: one partition per ds = the rows whose updated_at fell in that day (all, on a full load) ──
CREATE TABLE IF NOT EXISTS staging.library_members (
    ds          date NOT NULL,
    member_id   bigint NOT NULL,
    full_name   text,
    email       text,
    city        text,
    joined_at   timestamptz,
    is_active   boolean,
    updated_at  timestamptz,
    PRIMARY KEY (ds, member_id)
);

CREATE TABLE IF NOT EXISTS staging.library_books (
    ds              date NOT NULL,
    book_id         bigint NOT NULL,
    isbn            text,
    title           text,
    author          text,
    published_year  integer,
    stock           integer,
    updated_at      timestamptz,
    PRIMARY KEY (ds, book_id)
);

CREATE TABLE IF NOT EXISTS staging.library_rents (
    ds           date NOT NULL,
    rent_id      bigint NOT NULL,
    member_id    bigint,
    book_id      bigint,
    rented_at    timestamptz,
    due_at       timestamptz,
    returned_at  timestamptz,
    updated_at   timestamptz,
    PRIMARY KEY (ds, rent_id)
);

-- ── the warehouse mirror (ds = the day of the change it holds) ─────────────────
CREATE TABLE IF NOT EXISTS library.members (
    member_id   bigint PRIMARY KEY,
    full_name   text,
    email       text,
    city        text,
    joined_at   timestamptz,
    is_active   boolean,
    updated_at  timestamptz NOT NULL,
    ds          date NOT NULL
);
CREATE INDEX IF NOT EXISTS library_members_ds_idx ON library.members (ds);

CREATE TABLE IF NOT EXISTS library.books (
    book_id         bigint PRIMARY KEY,
    isbn            text,
    title           text,
    author          text,
    published_year  integer,
    stock           integer,
    updated_at      timestamptz NOT NULL,
    ds              date NOT NULL
);
CREATE INDEX IF NOT EXISTS library_books_ds_idx ON library.books (ds);

CREATE TABLE IF NOT EXISTS library.rents (
    rent_id      bigint PRIMARY KEY,
    member_id    bigint,
    book_id      bigint,
    rented_at    timestamptz,
    due_at       timestamptz,
    returned_at  timestamptz,
    updated_at   timestamptz NOT NULL,
    ds           date NOT NULL
);
CREATE INDEX IF NOT EXISTS library_rents_ds_idx ON library.rents (ds);
