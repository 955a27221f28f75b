SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM event_outbox
