-- The generated `library` source: a library application's database (members, books, rents).
-- Idempotent: IF NOT EXISTS throughout.

CREATE TABLE IF NOT EXISTS public.members (
    member_id   bigint PRIMARY KEY,
    full_name   text NOT NULL,
    email       text NOT NULL,
    city        text,
    joined_at   timestamptz NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS public.books (
    book_id         bigint PRIMARY KEY,
    isbn            text NOT NULL UNIQUE,
    title           text NOT NULL,
    author          text NOT NULL,
    published_year  integer CHECK (published_year BETWEEN 1450 AND 2100),
    stock           integer NOT NULL CHECK (stock >= 0),
    updated_at      timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS public.rents (
    rent_id      bigint PRIMARY KEY,
    member_id    bigint NOT NULL REFERENCES public.members,
    book_id      bigint NOT NULL REFERENCES public.books,
    rented_at    timestamptz NOT NULL,
    due_at       timestamptz NOT NULL CHECK (due_at >= rented_at),
    returned_at  timestamptz CHECK (returned_at >= rented_at),
    updated_at   timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS members_updated_at_idx ON public.members (updated_at);
CREATE INDEX IF NOT EXISTS books_updated_at_idx ON public.books (updated_at);
CREATE INDEX IF NOT EXISTS rents_updated_at_idx ON public.rents (updated_at);
