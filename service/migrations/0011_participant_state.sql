-- Per-(participant, scheme) state instead of per-participant facts (issue "Aggregation",
-- throughput). What a batch needs to append a participant's on-time events without reading
-- its history: the last event's key, the month-end state of the last month with events and
-- of the month-end before it (a new event in that same month re-states it), whether the
-- participant was ever active, and the participant's sex / birth year (the same in all its
-- scheme rows). Late events, identity merges and attribute changes re-derive the participant
-- from enrolment_events: the figures of its old event set are subtracted, those of the new
-- set added — so stored per-participant facts are no longer needed.
CREATE TABLE participant_scheme_state (
    participant_id   bigint      NOT NULL,
    scheme           text        NOT NULL,
    last_occurred_at timestamptz NOT NULL,
    last_event_id    uuid        NOT NULL,
    last_month       date        NOT NULL,
    active_in        text,      -- locality where active at the end of last_month; NULL = inactive
    before_active_in text,      -- the same at the previous month end with events (NULL = none/inactive)
    ever_active      boolean     NOT NULL,
    sex              text        NOT NULL,
    birth_year       smallint    NOT NULL,
    PRIMARY KEY (participant_id, scheme)
) WITH (fillfactor = 80);  -- room for HOT updates: most batches rewrite rows in place

-- Backfill from the stored events (same definitions as service.domain.timeline).
WITH timeline AS (
    SELECT i.participant_id, e.*
    FROM participant_identifiers i JOIN enrolment_events e ON e.ident = i.identifier
), person AS (
    SELECT participant_id,
           coalesce((array_agg(sex ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE sex IS NOT NULL))[1], 'unknown') AS sex,
           coalesce((array_agg(birth_year ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE birth_year IS NOT NULL))[1], 0)::smallint AS birth_year
    FROM timeline GROUP BY participant_id
), ever AS (
    SELECT participant_id, scheme, bool_or(kind IN ('registered', 'renewed')) AS ever_active
    FROM timeline GROUP BY participant_id, scheme
), month_end AS (
    SELECT DISTINCT ON (participant_id, scheme, month) participant_id, scheme, month, occurred_at, event_id,
           CASE WHEN kind IN ('registered', 'renewed') THEN locality_code END AS active_in
    FROM timeline
    ORDER BY participant_id, scheme, month, occurred_at DESC, event_id DESC
), changes AS (
    SELECT *, lag(active_in) OVER w AS before_active_in
    FROM month_end WINDOW w AS (PARTITION BY participant_id, scheme ORDER BY month)
)
INSERT INTO participant_scheme_state
SELECT DISTINCT ON (c.participant_id, c.scheme) c.participant_id, c.scheme, c.occurred_at, c.event_id,
       c.month, c.active_in, c.before_active_in, v.ever_active, p.sex, p.birth_year
FROM changes c JOIN person p USING (participant_id) JOIN ever v USING (participant_id, scheme)
ORDER BY c.participant_id, c.scheme, c.month DESC;

DROP TABLE participant_stock_facts;
DROP TABLE participant_flow_facts;
