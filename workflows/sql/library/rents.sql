-- library.rents ← the rents that changed on %(ds)s (its staging partition: new rents and returns): new
-- ones inserted, known ones updated when the staged row is not older (updated_at) and differs.

MERGE INTO library.rents AS t
USING (SELECT rent_id, member_id, book_id, rented_at, due_at, returned_at, updated_at, ds
         FROM staging.library_rents
        WHERE ds = %(ds)s) AS s
   ON t.rent_id = s.rent_id
WHEN MATCHED AND coalesce(s.updated_at, '-infinity') >= coalesce(t.updated_at, '-infinity')
             AND (t.member_id, t.book_id, t.rented_at, t.due_at, t.returned_at, t.updated_at)
                 IS DISTINCT FROM (s.member_id, s.book_id, s.rented_at, s.due_at, s.returned_at, s.updated_at) THEN
    UPDATE SET member_id = s.member_id, book_id = s.book_id, rented_at = s.rented_at, due_at = s.due_at,
               returned_at = s.returned_at, updated_at = s.updated_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (rent_id, member_id, book_id, rented_at, due_at, returned_at, updated_at, ds)
    VALUES (s.rent_id, s.member_id, s.book_id, s.rented_at, s.due_at, s.returned_at, s.updated_at, s.ds);

-- rows deleted in the source (their key missing from the latest key snapshot, staging.source_keys)
-- are kept, flagged: deleted_at = the end of the snapshot's ds (the first one that saw them gone is
-- kept); a key back in the source is unflagged. Only rows whose flag changes are written.
WITH snap AS (
    SELECT ds FROM etl.source_snapshots WHERE pipeline = 'library' AND entity = 'rents'
),
flags AS (
    SELECT m.rent_id,
           CASE WHEN k.key IS NULL
                THEN coalesce(m.deleted_at, ((SELECT ds FROM snap) + 1)::timestamp AT TIME ZONE 'UTC') END AS deleted_at
      FROM library.rents AS m
      LEFT JOIN staging.source_keys AS k
             ON k.pipeline = 'library' AND k.entity = 'rents' AND k.key = ARRAY[m.rent_id::text]
     WHERE EXISTS (SELECT 1 FROM snap)
)
UPDATE library.rents AS t
   SET deleted_at = f.deleted_at
  FROM flags AS f
 WHERE f.rent_id = t.rent_id AND t.deleted_at IS DISTINCT FROM f.deleted_at;

SELECT count(*) FROM library.rents WHERE ds = %(ds)s;
