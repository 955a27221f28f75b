-- The re-derivation's timeline: the participants' events as counted before (under their
-- numbers before the regrouping) with sign -1, the events that stay counted under their new
-- numbers with sign +1. This batch's new events are left to the rest of the apply.
INSERT INTO timeline
SELECT -1, i.participant_id, {event_columns} FROM participant_identifiers i
CROSS JOIN LATERAL (SELECT * FROM enrolment_events e WHERE e.ident = i.identifier OFFSET 0) e
WHERE i.participant_id = ANY(%(old)s) AND (e.retracted IS NULL OR e.event_id = ANY(%(retracted)s))
  AND e.event_id NOT IN (SELECT event_id FROM inserted_events)
UNION ALL
SELECT 1, m.participant_id, {event_columns}
FROM unnest(%(identifiers)s::bytea[], %(numbers)s::bigint[]) AS m(identifier, participant_id)
CROSS JOIN LATERAL (SELECT * FROM enrolment_events e WHERE e.ident = m.identifier OFFSET 0) e
WHERE e.retracted IS NULL AND e.event_id NOT IN (SELECT event_id FROM inserted_events)
