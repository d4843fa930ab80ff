-- library.books ← the books that changed on %(ds)s (its staging partition): new ones inserted, known
-- ones updated when the staged row is not older (updated_at) and differs. Re-runs change nothing.

MERGE INTO library.books AS t
USING (SELECT book_id, isbn, title, author, published_year, stock, updated_at, ds
         FROM staging.library_books
        WHERE ds = %(ds)s) AS s
   ON t.book_id = s.book_id
WHEN MATCHED AND coalesce(s.updated_at, '-infinity') >= coalesce(t.updated_at, '-infinity')
             AND (t.isbn, t.title, t.author, t.published_year, t.stock, t.updated_at)
                 IS DISTINCT FROM (s.isbn, s.title, s.author, s.published_year, s.stock, s.updated_at) THEN
    UPDATE SET isbn = s.isbn, title = s.title, author = s.author, published_year = s.published_year,
               stock = s.stock, updated_at = s.updated_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (book_id, isbn, title, author, published_year, stock, updated_at, ds)
    VALUES (s.book_id, s.isbn, s.title, s.author, s.published_year, s.stock, s.updated_at, s.ds);

-- rows deleted in the source (their key missing from the latest key snapshot, staging.source_keys)
-- are kept, flagged: deleted_at = the end of the snapshot's ds (the first one that saw them gone is
-- kept); a key back in the source is unflagged. Only rows whose flag changes are written.
WITH snap AS (
    SELECT ds FROM etl.source_snapshots WHERE pipeline = 'library' AND entity = 'books'
),
flags AS (
    SELECT m.book_id,
           CASE WHEN k.key IS NULL
                THEN coalesce(m.deleted_at, ((SELECT ds FROM snap) + 1)::timestamp AT TIME ZONE 'UTC') END AS deleted_at
      FROM library.books AS m
      LEFT JOIN staging.source_keys AS k
             ON k.pipeline = 'library' AND k.entity = 'books' AND k.key = ARRAY[m.book_id::text]
     WHERE EXISTS (SELECT 1 FROM snap)
)
UPDATE library.books AS t
   SET deleted_at = f.deleted_at
  FROM flags AS f
 WHERE f.book_id = t.book_id AND t.deleted_at IS DISTINCT FROM f.deleted_at;

SELECT count(*) FROM library.books WHERE ds = %(ds)s;
