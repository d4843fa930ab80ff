-- Bookkeeping of a generated source database: the days applied (each once, in date order)
-- and a seeded uniform draw in [0, 1) that makes every generated value deterministic.
CREATE SCHEMA IF NOT EXISTS generator;

CREATE TABLE IF NOT EXISTS generator.days (
    ds          date PRIMARY KEY,
    seed        integer NOT NULL,
    size        integer NOT NULL,
    is_opening  boolean NOT NULL DEFAULT false,   -- the first day: the base history was generated before it
    applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE OR REPLACE FUNCTION generator.u(seed integer, salt text, n bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (hashint8extended(n, seed::bigint * 7919 + hashtext(salt)) & 2147483647)::double precision / 2147483648.0;
