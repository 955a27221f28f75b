-- Run by the live consumer's apply, in its transaction, after the batch's events are stored
-- (qualified: a rebuild's search_path puts its own schema first). The rows to go are found by a
-- SELECT (the InitPlan) and deleted by their ids alone: an acknowledgement (mark_published.sql) may
-- update them meanwhile, and a DELETE that waits for it re-checks the new row versions. That
-- re-check of a DELETE ... USING join lost every row but the first when the plan probed
-- event_outbox's index per staged event (PostgreSQL 16.2: ~1 accepted event in 10 left behind in
-- the demo, for ever); a single-table DELETE re-checks `event_id = ANY(...)` alone. The digests
-- cannot change meanwhile: an acknowledgement writes only published_at.
DELETE FROM public.event_outbox WHERE event_id = ANY (ARRAY(
    SELECT o.event_id FROM (
        SELECT event_id, content_digest FROM staging_events
        UNION ALL SELECT event_id, content_digest FROM staging_conferences
        UNION ALL SELECT event_id, content_digest FROM staging_retractions
    ) s CROSS JOIN LATERAL (  -- OFFSET 0: an index lookup per staged event, never a scan of a backlog
        SELECT event_id FROM public.event_outbox o
        WHERE o.event_id = s.event_id AND o.content_digest = s.content_digest OFFSET 0) o
))
