-- ga4_events: temp table ``incoming`` (this ds's staged rows, with their row_hash) →
-- staging.content_ga4_events, insert-only-if-absent.
--
-- An event's identity is row_hash (computed while staging; sql/ddl/020_content.sql explains the
-- encoding), enforced by the unique index content_ga4_events_row_hash_key. Exact duplicates inside
-- the file, and rows another file already delivered, collapse into one row; rows that differ in
-- anything (even NULL vs '') do not. ds records the earliest file that delivered the event,
-- whatever the load order, so loading files in any order (or twice) converges to the same table.
-- Re-running a file writes nothing.
SET LOCAL work_mem = '256MB';

-- ── 1. events first staged from a later file: this earlier file now delivers them first ──
-- (In date order no staged row has a later ds: the ds index finds none and nothing is joined.)
UPDATE staging.content_ga4_events AS e
   SET ds = %(ds)s
  FROM incoming AS i
 WHERE e.ds > %(ds)s
   AND e.row_hash = i.row_hash;

-- ── 2. events not staged yet ───────────────────────────────────────────────
-- In hash order, the inserts walk the unique index once instead of hitting random pages.
INSERT INTO staging.content_ga4_events
       (ds, event_at, event_name, user_pseudo_id, session_id, content_id,
        page_location, engagement_time_msec, device_category, country, row_hash)
SELECT ds, event_at, event_name, user_pseudo_id, session_id, content_id,
       page_location, engagement_time_msec, device_category, country, row_hash
  FROM incoming
 ORDER BY row_hash
    ON CONFLICT (row_hash) DO NOTHING;
