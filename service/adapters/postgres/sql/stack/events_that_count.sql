-- The enrolment and conference events in the event store: what the figures are made of (unlike
-- rebuild/stored_event_count.sql, which also counts the retractions a rebuild must hold).
SELECT (SELECT count(*) FROM enrolment_events) + (SELECT count(*) FROM conference_events)
