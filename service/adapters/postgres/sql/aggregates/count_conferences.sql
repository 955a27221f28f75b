-- The batch's new conferences that no retraction took out (the retractions delete those).
WITH summed AS (
    INSERT INTO agg_outreach (locality_code, month, campaign, conferences, attendees, cost_vnd)
    SELECT locality_code, month, campaign, count(*), sum(attendees), sum(cost_vnd)
    FROM inserted_conferences GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    {outreach_upsert}
)
SELECT count(*), max(occurred_at) FROM inserted_conferences
