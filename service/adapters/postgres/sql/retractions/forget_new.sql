DELETE FROM inserted_events WHERE event_id = ANY(%s)
