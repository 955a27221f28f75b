WHERE NOT EXISTS (SELECT FROM {schema}.{table} r WHERE r.event_id = e.event_id)
