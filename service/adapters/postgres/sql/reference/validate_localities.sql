-- Validation, in order; each step only looks at rows not rejected by an earlier one. The
-- levels of the tree and their order come from reference.LEVELS.
UPDATE loc_in SET reason = 'code is empty' WHERE coalesce(code, '') = '';

UPDATE loc_in SET reason = 'name is empty' WHERE reason IS NULL AND coalesce(name, '') = '';

UPDATE loc_in SET reason = {level_reason} WHERE reason IS NULL AND level NOT IN ({levels});

UPDATE loc_in SET reason = 'a nation has no parent; every other level needs one'
WHERE reason IS NULL AND (level = 'nation') <> (parent_code IS NULL);

UPDATE loc_in SET reason = 'duplicate code (first occurrence on line ' || f.first || ' kept)'
FROM (SELECT code, min(line) AS first FROM loc_in WHERE reason IS NULL GROUP BY code) f
WHERE loc_in.reason IS NULL AND loc_in.code = f.code AND loc_in.line <> f.first;

UPDATE loc_in SET reason = 'its own parent' WHERE reason IS NULL AND parent_code = code;

-- Unknown parent: neither in this input (valid rows) nor already loaded.
UPDATE loc_in c SET reason = 'unknown parent_code ' || c.parent_code
WHERE c.reason IS NULL AND c.parent_code IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM loc_in p WHERE p.code = c.parent_code AND p.reason IS NULL)
  AND NOT EXISTS (SELECT 1 FROM localities l WHERE l.code = c.parent_code
                   AND NOT EXISTS (SELECT 1 FROM loc_in x WHERE x.code = l.code));

WITH RECURSIVE up(code, ancestor, steps) AS (
    SELECT code, parent_code, 1 FROM loc_in WHERE reason IS NULL AND parent_code IS NOT NULL
    UNION ALL
    SELECT up.code, i.parent_code, up.steps + 1
    FROM up JOIN loc_in i ON i.code = up.ancestor AND i.reason IS NULL
    WHERE up.ancestor <> up.code AND i.parent_code IS NOT NULL AND up.steps < 64
)
UPDATE loc_in SET reason = 'parent cycle'
WHERE reason IS NULL AND code IN (SELECT code FROM up WHERE ancestor = code);

-- The tree after the load (valid input rows override loaded ones): every node must hang off a
-- nation root through parents of strictly higher levels; what doesn't is in a cycle or under a
-- rejected row.
WITH RECURSIVE
rank(level, r) AS (VALUES {level_ranks}),
tree AS (
    SELECT code, level, parent_code FROM loc_in WHERE reason IS NULL
    UNION ALL
    SELECT code, level, parent_code FROM localities l
    WHERE NOT EXISTS (SELECT 1 FROM loc_in i WHERE i.code = l.code)
),
reach AS (
    SELECT t.code, r.r FROM tree t JOIN rank r USING (level) WHERE t.parent_code IS NULL
    UNION ALL
    SELECT t.code, r.r FROM tree t JOIN rank r USING (level)
    JOIN reach p ON t.parent_code = p.code
    WHERE r.r > p.r
)
UPDATE loc_in SET reason = CASE
        WHEN EXISTS (SELECT 1 FROM tree t JOIN rank rc ON rc.level = t.level
                     JOIN tree p ON p.code = t.parent_code JOIN rank rp ON rp.level = p.level
                     WHERE t.code = loc_in.code AND rp.r >= rc.r)
        THEN 'level ' || level || ' cannot sit under its parent''s level'
        ELSE 'not connected to a nation root (parent cycle, or an ancestor was rejected)'
    END
WHERE reason IS NULL AND code NOT IN (SELECT code FROM reach)
