INSERT INTO agg_active_changes (locality_code, scheme, month, delta)
SELECT locality_code, scheme, month, sum(delta) FROM stock_diff
GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
ON CONFLICT (locality_code, scheme, month) DO UPDATE SET delta = agg_active_changes.delta + EXCLUDED.delta
