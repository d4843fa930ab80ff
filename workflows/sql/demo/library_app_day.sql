-- One day %(ds)s of the library application (UTC), every updated_at inside the day. Applied once
-- per day, in date order (generator.days). New ids are 100000 × (days since 2000-01-01) + n, so
-- they never collide. Changes: 3 × size new members (the first with an e-mail lacking '@', a
-- defect the app lets through), 2 × size new books, 8 × size new rents, about 40 %% of the open
-- rents of two days or more returned, 2 × size books' stock changed, one member deactivated,
-- size returned rents of a week ago or more deleted (hard deletes).

INSERT INTO public.members (member_id, full_name, email, city, joined_at, is_active, updated_at)
SELECT id,
       first || ' ' || last,
       CASE WHEN i = 1 THEN lower(first || '.' || last || id) || '.example.org'
            ELSE lower(first || '.' || last || id) || '@example.org' END,
       (ARRAY['Lisbon', 'Porto', 'Braga', 'Coimbra', 'Faro', NULL])[1 + floor(generator.u(%(seed)s, 'mcity', id) * 6)::int],
       at, true, at
  FROM generate_series(1, 3 * %(size)s) AS i,
       LATERAL (SELECT 100000 * (%(ds)s::date - date '2000-01-01')::bigint + i AS id) AS n,
       LATERAL (SELECT (ARRAY['Ana', 'Bruno', 'Carla', 'Duarte', 'Eva', 'Filipe', 'Gabriela', 'Hugo'])
                           [1 + floor(generator.u(%(seed)s, 'mfirst', n.id) * 8)::int] AS first,
                       (ARRAY['Silva', 'Santos', 'Ferreira', 'Pereira', 'Costa', 'Rodrigues'])
                           [1 + floor(generator.u(%(seed)s, 'mlast', n.id) * 6)::int] AS last,
                       %(ds)s::date::timestamp AT TIME ZONE 'UTC' + interval '9 hours' + i * interval '1 minute' AS at) AS x;

INSERT INTO public.books (book_id, isbn, title, author, published_year, stock, updated_at)
SELECT id,
       '979' || lpad(id::text, 10, '0'),
       'New Arrival ' || id,
       (ARRAY['J. Saramago', 'E. de Queirós', 'F. Pessoa', 'S. de Mello Breyner', 'M. Torga'])
           [1 + floor(generator.u(%(seed)s, 'author', id) * 5)::int],
       2000 + floor(generator.u(%(seed)s, 'year', id) * 26)::int,
       1 + floor(generator.u(%(seed)s, 'stock', id) * 5)::int,
       %(ds)s::date::timestamp AT TIME ZONE 'UTC' + interval '10 hours' + i * interval '1 minute'
  FROM generate_series(1, 2 * %(size)s) AS i,
       LATERAL (SELECT 100000 * (%(ds)s::date - date '2000-01-01')::bigint + i AS id) AS n;

INSERT INTO public.rents (rent_id, member_id, book_id, rented_at, due_at, returned_at, updated_at)
SELECT id, member_id, book_id, rented_at, rented_at + interval '14 days', NULL, rented_at
  FROM generate_series(1, 8 * %(size)s) AS i,
       LATERAL (SELECT 100000 * (%(ds)s::date - date '2000-01-01')::bigint + i AS id) AS n,
       LATERAL (SELECT 1 + floor(generator.u(%(seed)s, 'rmember', n.id) * 40 * %(size)s)::bigint AS member_id,
                       1 + floor(generator.u(%(seed)s, 'rbook', n.id) * 60 * %(size)s)::bigint AS book_id,
                       %(ds)s::date::timestamp AT TIME ZONE 'UTC' + interval '11 hours'
                           + floor(generator.u(%(seed)s, 'rsec', n.id) * 36000) * interval '1 second' AS rented_at) AS r;

UPDATE public.rents
   SET returned_at = %(ds)s::date::timestamp AT TIME ZONE 'UTC' + interval '17 hours',
       updated_at = %(ds)s::date::timestamp AT TIME ZONE 'UTC' + interval '17 hours'
 WHERE returned_at IS NULL
   AND rented_at <= %(ds)s::date::timestamp AT TIME ZONE 'UTC' - interval '2 days'
   AND generator.u(%(seed)s, 'return', rent_id * 100000 + (%(ds)s::date - date '2000-01-01')) < 0.4;

UPDATE public.books
   SET stock = greatest(stock - 1 + floor(generator.u(%(seed)s, 'restock', book_id * 100000 + (%(ds)s::date - date '2000-01-01')) * 4)::int, 0),
       updated_at = %(ds)s::date::timestamp AT TIME ZONE 'UTC' + interval '18 hours'
 WHERE book_id IN (SELECT 1 + floor(generator.u(%(seed)s, 'stockbook', 100000 * (%(ds)s::date - date '2000-01-01') + i) * 60 * %(size)s)::bigint
                     FROM generate_series(1, 2 * %(size)s) AS i);

UPDATE public.members
   SET is_active = false, updated_at = %(ds)s::date::timestamp AT TIME ZONE 'UTC' + interval '19 hours'
 WHERE member_id = 1 + floor(generator.u(%(seed)s, 'leaver', %(ds)s::date - date '2000-01-01') * 40 * %(size)s)::bigint;

-- Hard deletes the warehouse must see (its key snapshot): size returned rents of a week ago or more.
DELETE FROM public.rents
 WHERE rent_id IN (SELECT rent_id
                     FROM public.rents
                    WHERE returned_at < %(ds)s::date::timestamp AT TIME ZONE 'UTC' - interval '7 days'
                    ORDER BY generator.u(%(seed)s, 'purge', rent_id * 100000 + (%(ds)s::date - date '2000-01-01')), rent_id
                    LIMIT %(size)s);
