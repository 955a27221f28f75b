INSERT INTO agg_flows (month, locality_code, scheme, channel, agent_id, {flows})
SELECT * FROM (
    SELECT month, locality_code, scheme, channel, agent_id, {summed_flows}
    FROM flow_diff GROUP BY 1, 2, 3, 4, 5
) net
WHERE {any_flow}
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (month, locality_code, scheme, channel, agent_id) DO UPDATE SET
{added_flows}
