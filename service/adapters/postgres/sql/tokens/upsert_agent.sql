INSERT INTO agents (agent_id, name, channel) VALUES (%s, %s, %s)
ON CONFLICT (agent_id) DO UPDATE SET name = excluded.name, channel = excluded.channel
