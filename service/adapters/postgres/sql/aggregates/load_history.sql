-- Re-derivation: the stored events of the participants before this batch (under their old
-- numbers, identifier map not yet updated) count with sign -1, the same events under the new
-- numbers plus the new events with sign +1; their sum is exactly the change.
WITH history AS (
    SELECT i.participant_id AS old_id, coalesce(m.winner, i.participant_id) AS new_id, e.*
    FROM participant_identifiers i
    -- OFFSET 0: not flattened, so always an index lookup per identifier (never a scan of the store)
    CROSS JOIN LATERAL (SELECT * FROM enrolment_events e WHERE e.ident = i.identifier OFFSET 0) e
    LEFT JOIN unnest(%(losers)s::bigint[], %(winners)s::bigint[]) AS m(loser, winner) ON m.loser = i.participant_id
    -- NOT IN: a hashed subplan, whatever the estimate of the rows around it (a NOT EXISTS became a
    -- nested loop over new_events when `retracted IS NULL`, never analysed, looked selective)
    WHERE i.participant_id = ANY(%(old)s) AND e.retracted IS NULL
      AND e.event_id NOT IN (SELECT event_id FROM new_events)
)
INSERT INTO timeline
SELECT -1, old_id, {event_columns} FROM history
UNION ALL
SELECT 1, new_id, {event_columns} FROM history
UNION ALL
SELECT 1, participant_id, {event_columns} FROM new_events n
WHERE EXISTS (SELECT 1 FROM rederived r WHERE r.participant_id = n.participant_id)
