-- library.members ← the members that changed on %(ds)s (its staging partition): new ones inserted,
-- known ones updated when the staged row is not older (updated_at) and differs. A day loaded again,
-- or an older day loaded after a newer one, changes nothing.

MERGE INTO library.members AS t
USING (SELECT member_id, full_name, email, city, joined_at, is_active, updated_at, ds
         FROM staging.library_members
        WHERE ds = %(ds)s) AS s
   ON t.member_id = s.member_id
WHEN MATCHED AND coalesce(s.updated_at, '-infinity') >= coalesce(t.updated_at, '-infinity')
             AND (t.full_name, t.email, t.city, t.joined_at, t.is_active, t.updated_at)
                 IS DISTINCT FROM (s.full_name, s.email, s.city, s.joined_at, s.is_active, s.updated_at) THEN
    UPDATE SET full_name = s.full_name, email = s.email, city = s.city, joined_at = s.joined_at,
               is_active = s.is_active, updated_at = s.updated_at, ds = s.ds
WHEN NOT MATCHED THEN
    INSERT (member_id, full_name, email, city, joined_at, is_active, updated_at, ds)
    VALUES (s.member_id, s.full_name, s.email, s.city, s.joined_at, s.is_active, s.updated_at, s.ds);

-- rows deleted in the source (their key missing from the latest key snapshot, staging.source_keys)
-- are kept, flagged: deleted_at = the end of the snapshot's ds (the first one that saw them gone is
-- kept); a key back in the source is unflagged. Only rows whose flag changes are written.
WITH snap AS (
    SELECT ds FROM etl.source_snapshots WHERE pipeline = 'library' AND entity = 'members'
),
flags AS (
    SELECT m.member_id,
           CASE WHEN k.key IS NULL
                THEN coalesce(m.deleted_at, ((SELECT ds FROM snap) + 1)::timestamp AT TIME ZONE 'UTC') END AS deleted_at
      FROM library.members AS m
      LEFT JOIN staging.source_keys AS k
             ON k.pipeline = 'library' AND k.entity = 'members' AND k.key = ARRAY[m.member_id::text]
     WHERE EXISTS (SELECT 1 FROM snap)
)
UPDATE library.members AS t
   SET deleted_at = f.deleted_at
  FROM flags AS f
 WHERE f.member_id = t.member_id AND t.deleted_at IS DISTINCT FROM f.deleted_at;

SELECT count(*) FROM library.members WHERE ds = %(ds)s;
