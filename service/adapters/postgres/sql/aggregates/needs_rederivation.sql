-- Participants whose new events cannot simply be appended: an event not later than the last
-- stored one of its scheme (late), or a sex / birth year other than the participant's (the
-- breakdown of every month-end stock of the participant changes).
WITH needs AS (
    SELECT n.participant_id
    FROM new_events n JOIN prior_state s USING (participant_id)
    WHERE (s.scheme = n.scheme AND (n.occurred_at, n.event_id) < (s.last_occurred_at, s.last_event_id))
       OR n.sex <> s.sex OR n.birth_year <> s.birth_year
    UNION
    SELECT unnest(%s::bigint[])  -- merged participants
)
INSERT INTO rederived SELECT * FROM needs
RETURNING participant_id
