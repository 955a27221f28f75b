SELECT DISTINCT i.participant_id FROM enrolment_events e JOIN participant_identifiers i ON i.identifier = e.ident
WHERE e.event_id = ANY(%s)
