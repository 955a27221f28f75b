SELECT t.token_id, t.scope, t.agent_id, t.label, t.created_at, t.revoked_at,
       ARRAY(SELECT l.locality_code FROM api_token_localities l WHERE l.token_id = t.token_id
             ORDER BY l.locality_code),
       t.min_cell_size
FROM api_tokens t ORDER BY t.token_id
