-- One event id, two contents: the batch's rows whose stored event (stored before, or by the
-- other copy in this batch) has another content digest. A NULL digest (stored before digests
-- existed) is unknown content: no conflict. Run only when some rows were not inserted.
SELECT DISTINCT s.event_id, s.content_digest FROM {staging} s JOIN {store} e USING (event_id)
WHERE s.content_digest <> e.content_digest
