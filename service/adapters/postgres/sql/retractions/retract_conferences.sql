WITH marked AS (
    UPDATE conference_events c SET retracted = true
    WHERE c.event_id = ANY(%s) AND c.retracted IS NULL
    RETURNING c.*
), new AS (
    DELETE FROM inserted_conferences n USING marked m WHERE n.event_id = m.event_id RETURNING n.event_id
), subtracted AS (
    INSERT INTO agg_outreach (locality_code, month, campaign, conferences, attendees, cost_vnd)
    SELECT locality_code, month, campaign, -count(*), -sum(attendees), -sum(cost_vnd)
    FROM marked m WHERE NOT EXISTS (SELECT FROM new WHERE new.event_id = m.event_id)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    {outreach_upsert}
)
SELECT count(*) FROM marked
