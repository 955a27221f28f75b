SELECT code, name, level, parent_code FROM localities
WHERE CASE WHEN %(nation)s THEN parent_code IS NULL ELSE code = ANY(%(roots)s::text[]) END
ORDER BY code
