SELECT t.token_id, t.scope, a.agent_id, a.channel,
       ARRAY(SELECT p.province_code FROM agent_provinces p WHERE p.agent_id = t.agent_id),
       ARRAY(SELECT l.locality_code FROM api_token_localities l WHERE l.token_id = t.token_id),
       t.min_cell_size
FROM api_tokens t
LEFT JOIN agents a ON a.agent_id = t.agent_id
WHERE t.token_hash = %s AND t.revoked_at IS NULL
