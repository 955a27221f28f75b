WITH seq AS (
    SELECT *,
           kind IN {activating} AS active,
           coalesce(lag(kind IN {activating}) OVER w, false) AS was_active,
           count(*) FILTER (WHERE kind IN {activating}) OVER w > (kind IN {activating})::int AS ever_active
    FROM timeline
    WINDOW w AS (PARTITION BY sign, participant_id, scheme ORDER BY occurred_at, event_id)
)
{rederived_flow_changes}
