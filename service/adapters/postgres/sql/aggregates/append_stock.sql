-- Appending on-time events: the state row stands for the participant's history. Its sex and
-- birth year are unchanged (checked before); a participant new to the store takes them from its
-- new events. If the first new month is the state's last month, that month-end is re-stated:
-- its old change (before -> active_in) is taken back and the new one counted.
WITH fast AS (  -- only the columns used below: it is materialised (read three times)
    SELECT participant_id, scheme, kind, occurred_at, event_id, month, locality_code, sex, birth_year
    FROM new_events n WHERE NOT EXISTS (SELECT 1 FROM rederived r WHERE r.participant_id = n.participant_id)
), person AS (
    SELECT f.participant_id,
           coalesce(min(s.sex), (array_agg(f.sex ORDER BY f.occurred_at DESC, f.event_id DESC)
                                 FILTER (WHERE f.sex IS NOT NULL))[1], {unknown_sex}) AS sex,
           coalesce(min(s.birth_year), (array_agg(f.birth_year ORDER BY f.occurred_at DESC, f.event_id DESC)
                                        FILTER (WHERE f.birth_year IS NOT NULL))[1], 0)::smallint AS birth_year
    FROM fast f LEFT JOIN prior_state s USING (participant_id)
    GROUP BY f.participant_id
), ever AS (
    SELECT participant_id, scheme, bool_or(kind IN {activating}) AS ever_active
    FROM fast GROUP BY participant_id, scheme
), month_end AS (
    SELECT DISTINCT ON (participant_id, scheme, month) participant_id, scheme, month, occurred_at, event_id,
           CASE WHEN kind IN {activating} THEN locality_code END AS active_in
    FROM fast
    ORDER BY participant_id, scheme, month, occurred_at DESC, event_id DESC
), changes AS (
    SELECT m.*, p.sex, p.birth_year,
           (m.month = s.last_month) IS TRUE AS restates,
           s.before_active_in AS old_before, s.active_in AS old_active_in,
           coalesce(s.ever_active, false) AS was_ever_active,
           CASE WHEN row_number() OVER w = 1
                THEN CASE WHEN m.month = s.last_month THEN s.before_active_in ELSE s.active_in END
                ELSE lag(m.active_in) OVER w END AS before
    FROM month_end m
    JOIN person p USING (participant_id)
    LEFT JOIN prior_state s USING (participant_id, scheme)
    WINDOW w AS (PARTITION BY m.participant_id, m.scheme ORDER BY m.month)
), state AS (
    INSERT INTO participant_scheme_state
    SELECT DISTINCT ON (c.participant_id, c.scheme) c.participant_id, c.scheme, c.occurred_at, c.event_id,
           c.month, c.active_in, c.before, c.was_ever_active OR v.ever_active, c.sex, c.birth_year
    FROM changes c JOIN ever v USING (participant_id, scheme)
    ORDER BY c.participant_id, c.scheme, c.month DESC
    {state_upsert}
)
{appended_stock_changes}
UNION ALL
SELECT scheme, old_before, month, sex, birth_year, 1 FROM changes
WHERE restates AND old_before IS NOT NULL AND old_before IS DISTINCT FROM old_active_in
UNION ALL
SELECT scheme, old_active_in, month, sex, birth_year, -1 FROM changes
WHERE restates AND old_active_in IS NOT NULL AND old_active_in IS DISTINCT FROM old_before
