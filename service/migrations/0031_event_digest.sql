-- The content digest of each stored event (service/contract/digest.py): a second record with
-- a stored event_id and another digest is a different event under a taken id (event_id_conflict).
-- NULL: stored before this column existed, content unknown; never counted as a conflict.
ALTER TABLE enrolment_events ADD COLUMN IF NOT EXISTS content_digest bytea;
ALTER TABLE conference_events ADD COLUMN IF NOT EXISTS content_digest bytea;
