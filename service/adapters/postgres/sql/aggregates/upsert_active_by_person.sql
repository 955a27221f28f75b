INSERT INTO agg_active_changes_by_person (locality_code, scheme, month, sex, birth_year, delta)
SELECT locality_code, scheme, month, sex, birth_year, sum(delta) FROM stock_diff
GROUP BY 1, 2, 3, 4, 5 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (locality_code, scheme, month, sex, birth_year)
DO UPDATE SET delta = agg_active_changes_by_person.delta + EXCLUDED.delta
