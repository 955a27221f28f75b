-- The links that still hold: those of the participants' counted events that stay counted.
SELECT DISTINCT i.participant_id, e.ident, e.linked_ident
FROM participant_identifiers i
CROSS JOIN LATERAL (SELECT ident, linked_ident FROM enrolment_events e
                    WHERE e.ident = i.identifier AND e.retracted IS NULL
                      AND e.event_id NOT IN (SELECT event_id FROM inserted_events) OFFSET 0) e
WHERE i.participant_id = ANY(%s)
