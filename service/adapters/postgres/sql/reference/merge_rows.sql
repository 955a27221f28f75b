WITH merged AS (
    INSERT INTO {table} AS t ({columns})
    SELECT {typed} FROM ref_in WHERE reason IS NULL
    ON CONFLICT ({key}) DO UPDATE SET {updates}, loaded_at = now() WHERE {changed}
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
