-- The rules as the domain reads them (the `source` column is for people only).
SELECT {columns} FROM contribution_rules ORDER BY effective_from
