WITH seq AS (
    SELECT f.*,
           f.kind IN {activating} AS active,
           coalesce(lag(f.kind IN {activating}) OVER w, s.active_in IS NOT NULL) AS was_active,
           count(*) FILTER (WHERE f.kind IN {activating}) OVER w > (f.kind IN {activating})::int
               OR coalesce(s.ever_active, false) AS ever_active
    FROM new_events f LEFT JOIN prior_state s USING (participant_id, scheme)
    WHERE NOT EXISTS (SELECT 1 FROM rederived r WHERE r.participant_id = f.participant_id)
    WINDOW w AS (PARTITION BY f.participant_id, f.scheme ORDER BY f.occurred_at, f.event_id)
)
{appended_flow_changes}
