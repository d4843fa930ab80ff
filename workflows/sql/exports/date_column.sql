-- The column that dates a row of %(table)s (a 'schema.table' name) for its export: ds if the table
-- has one (the partition that wrote the row), else the first date column of its primary key (an
-- event-date mart such as content's event_date / served_date). No row: the mart cannot be exported.
SELECT a.attname
  FROM pg_attribute AS a
  LEFT JOIN pg_index AS i
    ON i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY (i.indkey)
 WHERE a.attrelid = %(table)s::regclass
   AND a.attnum > 0
   AND NOT a.attisdropped
   AND (a.attname = 'ds' OR (i.indrelid IS NOT NULL AND a.atttypid = 'date'::regtype))
 ORDER BY a.attname = 'ds' DESC, array_position(i.indkey::smallint[], a.attnum)
 LIMIT 1;
