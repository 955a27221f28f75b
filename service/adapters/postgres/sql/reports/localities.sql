SELECT l.code, l.name, l.level, l.parent_code,
       (SELECT count(*) FROM localities c WHERE c.parent_code = l.code) AS children,
       count(*) OVER () AS total__
FROM localities l WHERE {where}
ORDER BY l.code LIMIT %s OFFSET %s
