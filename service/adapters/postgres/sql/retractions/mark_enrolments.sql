-- Counted (not retracted) events of this batch are `inserted_*`; the others were counted before.
WITH marked AS (
    UPDATE enrolment_events e SET retracted = true
    WHERE e.event_id = ANY(%s) AND e.retracted IS NULL
    RETURNING e.event_id
)
SELECT m.event_id, EXISTS (SELECT FROM inserted_events n WHERE n.event_id = m.event_id) FROM marked m
