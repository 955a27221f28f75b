DELETE FROM agent_provinces WHERE agent_id = %s
