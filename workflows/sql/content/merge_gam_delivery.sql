-- gam_delivery: temp table ``incoming`` (this ds's staged rows) → staging.content_gam_delivery,
-- one version per business key and file.
--
-- Business key: (served_at, ad_unit, line_item, creative, content_id). Within one file the last
-- line of a key wins (a file may restate a row; the stager quarantines the earlier lines as
-- `superseded`, so DISTINCT ON below is only a safety net); across files the version of the latest file (ds)
-- wins, which staging.content_gam_delivery_latest resolves, so loading files in any order gives
-- the same answer. A re-run of the file upserts the same versions and writes nothing. A corrected
-- file (the same ds loaded again with other contents) replaces the file's versions: the versions of
-- keys it no longer holds are deleted (the key's version of another file, if any, is then the
-- latest), their (served_date, content_id) noted in staging.content_removed_keys for the mart.

-- ── versions of this file's ds whose key the file no longer holds (none on a first load) ──
WITH gone AS (
    DELETE FROM staging.content_gam_delivery AS g
     WHERE g.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM incoming AS i
                        WHERE i.served_at = g.served_at AND i.ad_unit = g.ad_unit AND i.line_item = g.line_item
                          AND i.creative = g.creative AND i.content_id = g.content_id)
 RETURNING g.served_date, g.content_id
)
INSERT INTO staging.content_removed_keys (entity, ds, key_date, content_id)
SELECT DISTINCT 'gam_delivery', %(ds)s::date, served_date, content_id
  FROM gone
    ON CONFLICT DO NOTHING;

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
