-- gam_delivery: temp table ``incoming`` (this ds's staged rows) → staging.content_gam_delivery,
-- one version per business key and file.
--
-- Business key: (served_at, ad_unit, line_item, creative, content_id). Within one file the last
-- line of a key wins (a file may restate a row; the stager quarantines the earlier lines as
-- `superseded`, so DISTINCT ON below is only a safety net); across files the version of the latest file (ds)
-- wins, which staging.content_gam_delivery_latest resolves, so loading files in any order gives
-- the same answer. A re-run of the file upserts the same versions and writes nothing. A re-delivered
-- file never deletes versions: a version once received stays in the history.

-- ── one version per key in this file: its last line ─────────────────────────
WITH versions AS (
    SELECT DISTINCT ON (served_at, ad_unit, line_item, creative, content_id)
           ds, served_at, site, ad_unit, line_item, creative, content_id,
           impressions, clicks, revenue_usd, source_line
      FROM incoming
     ORDER BY served_at, ad_unit, line_item, creative, content_id, source_line DESC
)

-- ── upsert them as this file's versions ─────────────────────────────────────
INSERT INTO staging.content_gam_delivery AS g
       (ds, served_at, site, ad_unit, line_item, creative, content_id,
        impressions, clicks, revenue_usd, source_line)
SELECT ds, served_at, site, ad_unit, line_item, creative, content_id,
       impressions, clicks, revenue_usd, source_line
  FROM versions
    ON CONFLICT (served_at, ad_unit, line_item, creative, content_id, ds) DO UPDATE
   SET site = EXCLUDED.site, impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks,
       revenue_usd = EXCLUDED.revenue_usd, source_line = EXCLUDED.source_line
 WHERE (g.site, g.impressions, g.clicks, g.revenue_usd, g.source_line)
       IS DISTINCT FROM
       (EXCLUDED.site, EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.revenue_usd, EXCLUDED.source_line);
