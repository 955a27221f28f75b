-- The batch's enrolments stored before (run only when some rows were not inserted): those whose
-- content differs (conflicts) and those retracted (their links count for nothing), in the one
-- join the conflict check makes anyway.
SELECT DISTINCT s.event_id, s.content_digest, s.content_digest <> e.content_digest
FROM staging_events s JOIN enrolment_events e USING (event_id)
WHERE s.content_digest <> e.content_digest OR e.retracted
