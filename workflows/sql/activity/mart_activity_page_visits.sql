-- activity_page_visits ← staging.activity_user_activities for %(ds)s.
-- Grain: (ds, page_url). visit_count = events on the page (any action), so it sums to
-- the staged rows; visitor_count = distinct users. Merge as in activity_action_counts.

WITH counted AS (
    SELECT page_url,
           count(*)                       AS visit_count,
           count(DISTINCT user_pseudo_id) AS visitor_count
      FROM staging.activity_user_activities
     WHERE ds = %(ds)s
     GROUP BY page_url
),
vanished AS (
    DELETE FROM mart.activity_page_visits AS m
     WHERE m.ds = %(ds)s
       AND NOT EXISTS (SELECT 1 FROM counted AS c WHERE c.page_url = m.page_url)
)
INSERT INTO mart.activity_page_visits AS m (ds, page_url, visit_count, visitor_count)
SELECT %(ds)s, page_url, visit_count, visitor_count
  FROM counted
ON CONFLICT (ds, page_url) DO UPDATE
   SET visit_count = EXCLUDED.visit_count, visitor_count = EXCLUDED.visitor_count
 WHERE (m.visit_count, m.visitor_count) IS DISTINCT FROM (EXCLUDED.visit_count, EXCLUDED.visitor_count);

SELECT count(*) FROM mart.activity_page_visits WHERE ds = %(ds)s;
