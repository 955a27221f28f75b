WITH merged AS (
    INSERT INTO localities AS l (code, name, level, parent_code)
    SELECT code, name, level, parent_code FROM loc_in WHERE reason IS NULL
    ON CONFLICT (code) DO UPDATE
        SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code
        WHERE (l.name, l.level, l.parent_code) IS DISTINCT FROM
              (excluded.name, excluded.level, excluded.parent_code)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
