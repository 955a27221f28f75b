-- The events the event store counts (enrolments and conferences; retractions are not events
-- that count).
SELECT (SELECT count(*) FROM enrolment_events) + (SELECT count(*) FROM conference_events)
