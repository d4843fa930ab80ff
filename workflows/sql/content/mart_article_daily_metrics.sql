-- article_daily_metrics ← staging.content_ga4_events (all history) + current CMS attributes,
-- for exactly the (event_date, content_id) keys the %(ds)s file touched (or, corrected, no longer holds:
-- staging.content_removed_keys; such a key left without events is deleted).
--
-- Grain: event_date (UTC) × content_id.
--   pageviews             page_view events
--   sessions              distinct (user_pseudo_id, session_id): a ga_session_id is unique per user only
--   users                 distinct user_pseudo_id
--   engagement_events     user_engagement, scroll and click events
--   engagement_time_msec  sum of engagement_time_msec (NULL counts 0)
--   site … published_at   from the newest CMS snapshot that lists the article (NULL if none does)
-- Late data is exact: a touched key is recomputed from every staged event with that key, never
-- incremented (no old + new), so late and re-sent rows count once and distinct counts stay right.
-- Rows whose values did not change are not written: re-running changes nothing.

-- Distinct counts are hashed DISTINCTs then counts (count(DISTINCT (a, b)) compares records and is
-- ~8x slower); the day's rows are read once (MATERIALIZED) through the event_date block index.
SET LOCAL work_mem = '256MB';

-- ── recompute the touched keys from all history ─────────────────────────────
WITH touched AS (  -- the file's keys, and those a correction of it took rows from
    SELECT event_date, content_id
      FROM staging.content_ga4_events
     WHERE ds = %(ds)s
     UNION
    SELECT key_date, content_id
      FROM staging.content_removed_keys
     WHERE entity = 'ga4_events' AND ds = %(ds)s
),
events AS MATERIALIZED (
    SELECT e.event_date, e.content_id, e.user_pseudo_id, e.session_id, e.event_name, e.engagement_time_msec
      FROM staging.content_ga4_events AS e
      JOIN touched AS t ON e.event_date = t.event_date AND e.content_id = t.content_id
     WHERE e.event_date BETWEEN (SELECT min(event_date) FROM touched) AND (SELECT max(event_date) FROM touched)
),
counts AS (
    SELECT event_date, content_id,
           count(*) FILTER (WHERE event_name = 'page_view')   AS pageviews,
           count(*) FILTER (WHERE event_name <> 'page_view')  AS engagement_events,
           coalesce(sum(engagement_time_msec), 0)            AS engagement_time_msec
      FROM events
     GROUP BY event_date, content_id
),
sessions AS (  -- a ga_session_id is unique per user only: sessions are (user, session) pairs
    SELECT event_date, content_id, count(*) AS sessions
      FROM (SELECT DISTINCT event_date, content_id, user_pseudo_id, session_id FROM events) AS s
     GROUP BY event_date, content_id
),
users AS (
    SELECT event_date, content_id, count(*) AS users
      FROM (SELECT DISTINCT event_date, content_id, user_pseudo_id FROM events) AS u
     GROUP BY event_date, content_id
),
recomputed AS (
    SELECT c.event_date, c.content_id, c.pageviews, s.sessions, u.users, c.engagement_events,
           c.engagement_time_msec
      FROM counts AS c
      JOIN sessions AS s USING (event_date, content_id)
      JOIN users AS u USING (event_date, content_id)
),
with_article AS (
    SELECT r.event_date, r.content_id, a.site, a.title, a.author, a.section, a.published_at,
           r.pageviews, r.sessions, r.users, r.engagement_events, r.engagement_time_msec
      FROM recomputed AS r
      LEFT JOIN staging.content_cms_articles_latest AS a ON a.content_id = r.content_id
)
INSERT INTO mart.article_daily_metrics AS m
       (event_date, content_id, site, title, author, section, published_at,
        pageviews, sessions, users, engagement_events, engagement_time_msec)
SELECT event_date, content_id, site, title, author, section, published_at,
       pageviews, sessions, users, engagement_events, engagement_time_msec
  FROM with_article
    ON CONFLICT (event_date, content_id) DO UPDATE
   SET site = EXCLUDED.site, title = EXCLUDED.title, author = EXCLUDED.author,
       section = EXCLUDED.section, published_at = EXCLUDED.published_at,
       pageviews = EXCLUDED.pageviews, sessions = EXCLUDED.sessions, users = EXCLUDED.users,
       engagement_events = EXCLUDED.engagement_events, engagement_time_msec = EXCLUDED.engagement_time_msec
 WHERE (m.site, m.title, m.author, m.section, m.published_at,
        m.pageviews, m.sessions, m.users, m.engagement_events, m.engagement_time_msec)
       IS DISTINCT FROM
       (EXCLUDED.site, EXCLUDED.title, EXCLUDED.author, EXCLUDED.section, EXCLUDED.published_at,
        EXCLUDED.pageviews, EXCLUDED.sessions, EXCLUDED.users, EXCLUDED.engagement_events,
        EXCLUDED.engagement_time_msec);

-- ── keys a correction of this file left without events ───────────────────────
DELETE FROM mart.article_daily_metrics AS m
 USING staging.content_removed_keys AS k
 WHERE k.entity = 'ga4_events' AND k.ds = %(ds)s
   AND m.event_date = k.key_date AND m.content_id = k.content_id
   AND NOT EXISTS (SELECT 1 FROM staging.content_ga4_events AS e
                    WHERE e.event_date = k.key_date AND e.content_id = k.content_id);

-- ── articles whose newest snapshot is this ds: their attributes on every date ──
UPDATE mart.article_daily_metrics AS m
   SET site = a.site, title = a.title, author = a.author, section = a.section, published_at = a.published_at
  FROM staging.content_cms_articles_latest AS a
 WHERE a.ds = %(ds)s
   AND a.content_id = m.content_id
   AND (m.site, m.title, m.author, m.section, m.published_at)
       IS DISTINCT FROM (a.site, a.title, a.author, a.section, a.published_at);

SELECT count(*) FROM mart.article_daily_metrics WHERE event_date = %(ds)s;
