INSERT INTO participant_identifiers (identifier, participant_id)
SELECT * FROM unnest(%b::bytea[], %b::bigint[])
ON CONFLICT (identifier) DO UPDATE SET participant_id = EXCLUDED.participant_id
