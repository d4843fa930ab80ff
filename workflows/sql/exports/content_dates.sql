-- The dates other than %(ds)s whose content mart rows the files of %(ds)s changed:
--   GA4   the event dates of the events the file delivered first (a repeat of a known event
--         changes nothing), through the block index on ds (rows arrive a ds at a time);
--   GAM   the served dates of the versions it delivered, from the (ds, served_date, …) index;
--   CMS   the event dates of the article rows whose attributes the snapshot changed: articles whose
--         newest snapshot is ds and differs from their previous one (or that had none), whose
--         attributes mart_article_daily_metrics.sql sets on every date. The article mart is read
--         by content_id only when some article changed;
--   removed the dates of the keys a corrected file of ds took rows from (staging.content_removed_keys).
WITH changed_articles AS (
    SELECT a.content_id
      FROM staging.content_cms_articles_latest AS a
      LEFT JOIN LATERAL (
           SELECT true AS found, p.site, p.title, p.author, p.section, p.published_at
             FROM staging.content_cms_articles AS p
            WHERE p.content_id = a.content_id AND p.ds < a.ds
            ORDER BY p.ds DESC
            LIMIT 1) AS prev ON true
     WHERE a.ds = %(ds)s
       AND (prev.found IS NULL
            OR (a.site, a.title, a.author, a.section, a.published_at)
               IS DISTINCT FROM (prev.site, prev.title, prev.author, prev.section, prev.published_at))
)
SELECT event_date
  FROM staging.content_ga4_events
 WHERE ds = %(ds)s AND event_date <> %(ds)s
 UNION
SELECT served_date
  FROM staging.content_gam_delivery
 WHERE ds = %(ds)s AND served_date <> %(ds)s
 UNION
SELECT key_date
  FROM staging.content_removed_keys
 WHERE ds = %(ds)s AND key_date <> %(ds)s
 UNION
SELECT m.event_date
  FROM mart.article_daily_metrics AS m
  JOIN changed_articles AS c USING (content_id)
 WHERE m.event_date <> %(ds)s
 ORDER BY 1;
