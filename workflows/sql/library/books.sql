-- library.books ← the books that changed on %(ds)s (its staging partition): new ones inserted, known
-- ones updated when the staged row is not older (updated_at) and differs. Re-runs change nothing.

MERGE INTO library.books AS t
USING (SELECT book_id, isbn, title, author, published_year, stock, updated_at, ds
         FROM staging.library_books
        WHERE ds = %(ds)s) AS s
   ON t.book_id = s.book_id
WHEN MATCHED AND s.updated_at >= t.updated_at
             AND (t.isbn, t.title, t.author, t.published_year, t.stock, t.updated_at)
                 IS DISTINCT FROM (s.isbn, s.title, s.author, s.published_year, s.stock, s.updated_at) THEN
    UPDATE SET isbn = s.isbn, title = s.title, author = s.author, published_year = s.published_year,
               stock = s.stock, updated_at = s.updated_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (book_id, isbn, title, author, published_year, stock, updated_at, ds)
    VALUES (s.book_id, s.isbn, s.title, s.author, s.published_year, s.stock, s.updated_at, s.ds);

SELECT count(*) FROM library.books WHERE ds = %(ds)s;
