-- The closure is recomputed from `localities` and merged: only differences are written.
CREATE TEMP TABLE closure_new ON COMMIT DROP AS
WITH RECURSIVE c(ancestor_code, descendant_code, depth) AS (
    SELECT code, code, 0 FROM localities
    UNION ALL
    SELECT l.parent_code, c.descendant_code, c.depth + 1
    FROM c JOIN localities l ON l.code = c.ancestor_code
    WHERE l.parent_code IS NOT NULL AND c.depth < 32
) SELECT ancestor_code, descendant_code, depth::smallint FROM c;

DELETE FROM locality_closure o WHERE NOT EXISTS (
    SELECT 1 FROM closure_new n
    WHERE n.ancestor_code = o.ancestor_code AND n.descendant_code = o.descendant_code);

INSERT INTO locality_closure AS o (ancestor_code, descendant_code, depth)
SELECT ancestor_code, descendant_code, depth FROM closure_new
ON CONFLICT (ancestor_code, descendant_code) DO UPDATE SET depth = excluded.depth
WHERE o.depth <> excluded.depth
