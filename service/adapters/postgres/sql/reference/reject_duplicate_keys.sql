UPDATE ref_in s SET reason = 'duplicate key (first occurrence on line ' || f.first || ' kept)'
FROM (SELECT {key}, min(line) AS first FROM ref_in WHERE reason IS NULL GROUP BY {key}) f
WHERE s.reason IS NULL AND s.line <> f.first AND {same_key}
