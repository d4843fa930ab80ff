-- Columns of one table (%(table)s: a regclass name) in column order: name, type name,
-- numeric precision and scale (when declared), and position in the primary key (NULL = not in it).
SELECT a.attname                                                          AS name,
       t.typname                                                          AS type,
       CASE WHEN t.typname = 'numeric' AND a.atttypmod > 0
            THEN ((a.atttypmod - 4) >> 16) & 65535 END                    AS numeric_precision,
       CASE WHEN t.typname = 'numeric' AND a.atttypmod > 0
            THEN (a.atttypmod - 4) & 65535 END                            AS numeric_scale,
       array_position(i.indkey::int2[], a.attnum)                         AS pk_position
  FROM pg_attribute AS a
  JOIN pg_type AS t ON t.oid = a.atttypid
  LEFT JOIN pg_index AS i ON i.indrelid = a.attrelid AND i.indisprimary
 WHERE a.attrelid = %(table)s::regclass
   AND a.attnum > 0
   AND NOT a.attisdropped
 ORDER BY a.attnum;
