INSERT INTO api_tokens (token_hash, scope, agent_id, label, min_cell_size) VALUES (%s, %s, %s, %s, %s)
RETURNING token_id
