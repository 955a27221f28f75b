-- The months from the last to the first that hold any figure, walked backwards until one has a
-- non-zero stock change or flow within the reader's scope: each step probes the primary keys
-- by month (a few ms for any scope on the reporting benchmark's 11 million events; max(month)
-- over the rows in scope took 0.1-1.4 s for a province or an empty commune).
SELECT m.month::date
FROM (SELECT least((SELECT min(month) FROM agg_active_changes), (SELECT min(month) FROM agg_flows)) AS first,
             greatest((SELECT max(month) FROM agg_active_changes), (SELECT max(month) FROM agg_flows)) AS last) bounds,
     generate_series(bounds.last, bounds.first, interval '-1 month') AS m(month)
WHERE EXISTS (SELECT FROM agg_active_changes a WHERE a.month = m.month AND a.delta <> 0 AND {active_in_scope})
   OR EXISTS (SELECT FROM agg_flows f WHERE f.month = m.month AND ({any_flow}) AND {flows_in_scope})
ORDER BY m.month DESC
LIMIT 1
