-- Primary-key columns of %(table)s (a 'schema.table' name), in key order: the export's row order.
SELECT a.attname
  FROM pg_index AS i
  JOIN pg_attribute AS a
    ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
 WHERE i.indrelid = %(table)s::regclass
   AND i.indisprimary
 ORDER BY array_position(i.indkey::smallint[], a.attnum);
