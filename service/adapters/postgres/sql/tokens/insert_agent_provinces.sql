INSERT INTO agent_provinces (agent_id, province_code) SELECT %s, unnest(%s::text[])
