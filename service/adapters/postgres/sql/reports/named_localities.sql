SELECT locality_code FROM (SELECT code AS locality_code, level FROM localities) l
WHERE {where}
LIMIT %s
