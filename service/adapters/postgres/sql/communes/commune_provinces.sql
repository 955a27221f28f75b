-- Each commune and the province above it, at any depth of the locality tree.
WITH RECURSIVE up (commune, code, level, parent_code) AS (
    SELECT code, code, level, parent_code FROM localities WHERE level = 'commune'
    UNION ALL
    SELECT up.commune, l.code, l.level, l.parent_code
    FROM up JOIN localities l ON l.code = up.parent_code
    WHERE up.level <> 'province'
)
SELECT commune, code FROM up WHERE level = 'province'
