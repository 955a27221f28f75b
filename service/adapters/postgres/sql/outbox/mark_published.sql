-- The broker acknowledged these rows' records (the API's own publish, or the relay's).
UPDATE event_outbox SET published_at = now() WHERE event_id = ANY(%s)
