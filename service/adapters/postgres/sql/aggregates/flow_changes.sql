INSERT INTO flow_diff
SELECT scheme, locality_code, month, channel, agent_id, coalesce(campaign, ''), {flow_sums}
FROM seq GROUP BY scheme, locality_code, month, channel, agent_id, coalesce(campaign, '')
