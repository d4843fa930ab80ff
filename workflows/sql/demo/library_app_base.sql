-- The generated `library` source before its opening day %(opening)s: 40 × size members,
-- 60 × size books and 100 × size rents over the 30 days before (returned after 7–13 days when
-- that is before the opening). Deterministic per (seed, size, opening); every updated_at is
-- before the opening day (UTC).

INSERT INTO public.members (member_id, full_name, email, city, joined_at, is_active, updated_at)
SELECT id,
       first || ' ' || last,
       lower(first || '.' || last || id) || '@example.org',
       (ARRAY['Lisbon', 'Porto', 'Braga', 'Coimbra', 'Faro', NULL])[1 + floor(generator.u(%(seed)s, 'mcity', id) * 6)::int],
       joined, true, joined
  FROM generate_series(1, 40 * %(size)s) AS id,
       LATERAL (SELECT (ARRAY['Ana', 'Bruno', 'Carla', 'Duarte', 'Eva', 'Filipe', 'Gabriela', 'Hugo'])
                           [1 + floor(generator.u(%(seed)s, 'mfirst', id) * 8)::int] AS first,
                       (ARRAY['Silva', 'Santos', 'Ferreira', 'Pereira', 'Costa', 'Rodrigues'])
                           [1 + floor(generator.u(%(seed)s, 'mlast', id) * 6)::int] AS last,
                       %(opening)s::timestamptz - (31 + floor(generator.u(%(seed)s, 'mjoin', id) * 700)) * interval '1 day'
                           AS joined) AS x;

INSERT INTO public.books (book_id, isbn, title, author, published_year, stock, updated_at)
SELECT id,
       '978' || lpad((floor(generator.u(%(seed)s, 'isbn', id) * 1000000)::bigint * 1000 + id)::text, 10, '0'),
       (ARRAY['The', 'A', 'Our', 'Their'])[1 + floor(generator.u(%(seed)s, 'bt1', id) * 4)::int] || ' '
       || (ARRAY['Silent', 'Lost', 'Golden', 'Hidden', 'Last', 'Broken'])[1 + floor(generator.u(%(seed)s, 'bt2', id) * 6)::int] || ' '
       || (ARRAY['River', 'City', 'Garden', 'Letter', 'Harbour', 'Winter'])[1 + floor(generator.u(%(seed)s, 'bt3', id) * 6)::int],
       (ARRAY['J. Saramago', 'E. de Queirós', 'F. Pessoa', 'S. de Mello Breyner', 'M. Torga'])
           [1 + floor(generator.u(%(seed)s, 'author', id) * 5)::int],
       1900 + floor(generator.u(%(seed)s, 'year', id) * 125)::int,
       1 + floor(generator.u(%(seed)s, 'stock', id) * 10)::int,
       %(opening)s::timestamptz - (31 + floor(generator.u(%(seed)s, 'bmod', id) * 300)) * interval '1 day'
  FROM generate_series(1, 60 * %(size)s) AS id;

INSERT INTO public.rents (rent_id, member_id, book_id, rented_at, due_at, returned_at, updated_at)
SELECT id, member_id, book_id, rented_at, rented_at + interval '14 days', returned_at,
       coalesce(returned_at, rented_at)
  FROM generate_series(1, 100 * %(size)s) AS id,
       LATERAL (SELECT 1 + floor(generator.u(%(seed)s, 'rmember', id) * 40 * %(size)s)::bigint AS member_id,
                       1 + floor(generator.u(%(seed)s, 'rbook', id) * 60 * %(size)s)::bigint AS book_id,
                       %(opening)s::timestamptz - (1 + floor(generator.u(%(seed)s, 'rday', id) * 30)) * interval '1 day'
                           + floor(generator.u(%(seed)s, 'rsec', id) * 86400) * interval '1 second' AS rented_at) AS r,
       LATERAL (SELECT CASE WHEN r.rented_at + (7 + floor(generator.u(%(seed)s, 'rback', id) * 7)) * interval '1 day'
                                 < %(opening)s::timestamptz
                            THEN r.rented_at + (7 + floor(generator.u(%(seed)s, 'rback', id) * 7)) * interval '1 day'
                       END AS returned_at) AS b;
