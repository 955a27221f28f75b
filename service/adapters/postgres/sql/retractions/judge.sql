-- The retractions that can be judged now: the batch's, and the waiting ones whose event the
-- batch brings (a hash of the few waiting ones, probed by the batch's ids: no per-event query).
-- The permission is `domain.model.may_retract`, stated here for a set.
WITH arrived AS (
    SELECT event_id FROM inserted_events UNION ALL SELECT event_id FROM inserted_conferences
    UNION ALL SELECT event_id FROM inserted_retractions
), candidates AS (
    SELECT event_id FROM inserted_retractions
    UNION
    SELECT r.event_id FROM event_retractions r WHERE r.verdict IS NULL AND r.retracts IN (SELECT event_id FROM arrived)
), judged AS (
    SELECT r.event_id, t.kind, t.month, t.locality_code, t.agent_id, t.channel,
           CASE WHEN t.kind = {retraction} THEN {cannot_retract_a_retraction}
                WHEN r.agent_id IS NOT NULL AND r.agent_id IS DISTINCT FROM t.agent_id THEN {not_the_sender}
                WHEN r.supervisor_id IS NOT NULL AND NOT EXISTS (
                    SELECT FROM locality_closure lc
                    WHERE lc.descendant_code = t.locality_code AND lc.ancestor_code = ANY(r.provinces))
                THEN {not_in_provinces}
           END AS refusal
    FROM candidates c JOIN event_retractions r USING (event_id)
    CROSS JOIN LATERAL (
        SELECT {enrolment} AS kind, e.month, e.locality_code, e.agent_id, e.channel
        FROM enrolment_events e WHERE e.event_id = r.retracts
        UNION ALL
        SELECT {conference}, f.month, f.locality_code, f.agent_id, f.channel
        FROM conference_events f WHERE f.event_id = r.retracts
        UNION ALL
        SELECT {retraction}, NULL, NULL, NULL, NULL FROM event_retractions x WHERE x.event_id = r.retracts
        LIMIT 1
    ) t
    WHERE r.verdict IS NULL
)
UPDATE event_retractions r SET
    verdict = CASE WHEN j.refusal IS NULL THEN 'applied' ELSE 'refused' END, refusal = j.refusal,
    target_kind = j.kind, target_month = j.month, target_locality = j.locality_code,
    target_agent_id = j.agent_id, target_channel = j.channel
FROM judged j WHERE r.event_id = j.event_id
RETURNING r.event_id, r.retracts, j.kind, j.refusal, r.record_value, r.source_partition, r.source_offset
