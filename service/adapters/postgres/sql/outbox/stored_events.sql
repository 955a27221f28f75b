-- The stored events among some ids (picked out by a join or a filter on s.event_id, filled in
-- by outbox.py), with the digest each was accepted with: enrolments, conferences and
-- retractions share one id space.
SELECT s.event_id, s.content_digest FROM enrolment_events s {matching}
UNION ALL
SELECT s.event_id, s.content_digest FROM conference_events s {matching}
UNION ALL
SELECT s.event_id, s.content_digest FROM event_retractions s {matching}
