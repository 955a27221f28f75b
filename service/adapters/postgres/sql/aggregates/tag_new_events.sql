-- The new events, with the participant number each belongs to after this batch's identity
-- resolution (computed beforehand in Python, passed as arrays), go on, and the state rows of
-- their participants are read.
WITH new AS (
    INSERT INTO new_events
    SELECT m.participant_id, i.*
    FROM inserted_events i JOIN unnest(%b::bytea[], %b::bigint[]) AS m(identifier, participant_id) ON m.identifier = i.ident
    RETURNING participant_id, occurred_at
), prior AS (
    INSERT INTO prior_state
    SELECT s.* FROM (SELECT DISTINCT participant_id FROM new) n
    CROSS JOIN LATERAL (  -- OFFSET 0: an index lookup per participant, never a scan
        SELECT * FROM participant_scheme_state s WHERE s.participant_id = n.participant_id OFFSET 0) s
)
SELECT count(*), max(occurred_at) FROM new
