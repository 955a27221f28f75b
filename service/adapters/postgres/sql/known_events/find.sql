-- The events among some ids accepted so far: who sent each, where, and whether it is a
-- retraction (an outbox row is one when its kind is the domain's RETRACTED, a parameter). The
-- outbox holds the topic record itself: agent and locality are read from it.
WITH ids AS (SELECT unnest(%(ids)s::uuid[]) AS event_id), found AS (
    SELECT e.event_id, false AS is_retraction, e.agent_id, e.locality_code FROM enrolment_events e JOIN ids USING (event_id)
    UNION ALL
    SELECT c.event_id, false, c.agent_id, c.locality_code FROM conference_events c JOIN ids USING (event_id)
    UNION ALL
    SELECT r.event_id, true, r.agent_id, r.locality_code FROM event_retractions r JOIN ids USING (event_id)
    UNION ALL
    SELECT o.event_id, o.kind = %(retracted)s, v.record #>> '{agent,agent_id}', v.record ->> 'locality_code'
    FROM event_outbox o JOIN ids USING (event_id)
    CROSS JOIN LATERAL (SELECT convert_from(o.record_value, 'UTF8')::jsonb AS record) v
)
SELECT DISTINCT ON (f.event_id) f.event_id, f.is_retraction, f.agent_id, f.locality_code,
       ARRAY(SELECT lc.ancestor_code FROM locality_closure lc WHERE lc.descendant_code = f.locality_code)
FROM found f
