-- ad_daily_revenue ← staging.content_gam_delivery_latest (the latest version of every row),
-- for exactly the (served_date, content_id) keys the %(ds)s file touched (or, corrected, no longer holds:
-- staging.content_removed_keys; such a key left without versions is deleted).
--
-- Grain: served_date (UTC) × content_id.
--   impressions, clicks, revenue_usd   sums over the latest version of each business key
--   ctr                                clicks / impressions, rounded to 6 decimals (NULL without impressions)
-- A correction (same business key in a later file) replaces its earlier version instead of adding
-- to it: the touched keys are recomputed from the latest versions, never incremented. Rows whose
-- values did not change are not written: re-running changes nothing.

WITH touched AS (  -- the file's keys, and those a correction of it took versions from
    SELECT served_date, content_id
      FROM staging.content_gam_delivery
     WHERE ds = %(ds)s
     UNION
    SELECT key_date, content_id
      FROM staging.content_removed_keys
     WHERE entity = 'gam_delivery' AND ds = %(ds)s
),
recomputed AS (
    SELECT l.served_date,
           l.content_id,
           sum(l.impressions)  AS impressions,
           sum(l.clicks)       AS clicks,
           sum(l.revenue_usd)  AS revenue_usd
      FROM touched AS t
      JOIN staging.content_gam_delivery_latest AS l
        ON l.served_date = t.served_date AND l.content_id = t.content_id
     GROUP BY l.served_date, l.content_id
)
INSERT INTO mart.ad_daily_revenue AS r (served_date, content_id, impressions, clicks, revenue_usd, ctr)
SELECT served_date, content_id, impressions, clicks, revenue_usd,
       round(clicks::numeric / nullif(impressions, 0), 6)
  FROM recomputed
    ON CONFLICT (served_date, content_id) DO UPDATE
   SET impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks,
       revenue_usd = EXCLUDED.revenue_usd, ctr = EXCLUDED.ctr
 WHERE (r.impressions, r.clicks, r.revenue_usd, r.ctr)
       IS DISTINCT FROM (EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.revenue_usd, EXCLUDED.ctr);

-- ── keys a correction of this file left without versions ─────────────────────
DELETE FROM mart.ad_daily_revenue AS r
 USING staging.content_removed_keys AS k
 WHERE k.entity = 'gam_delivery' AND k.ds = %(ds)s
   AND r.served_date = k.key_date AND r.content_id = k.content_id
   AND NOT EXISTS (SELECT 1 FROM staging.content_gam_delivery AS g
                    WHERE g.served_date = k.key_date AND g.content_id = k.content_id);

SELECT count(*) FROM mart.ad_daily_revenue WHERE served_date = %(ds)s;
