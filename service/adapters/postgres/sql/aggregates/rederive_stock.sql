-- Month-end state: the last event of each (participant, scheme, month) decides; a change of
-- "active in locality X" against the previous month-end state gives -1 / +1 rows.
WITH person AS (
    SELECT sign, participant_id,
           coalesce((array_agg(sex ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE sex IS NOT NULL))[1], {unknown_sex}) AS sex,
           coalesce((array_agg(birth_year ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE birth_year IS NOT NULL))[1], 0)::smallint AS birth_year
    FROM timeline GROUP BY sign, participant_id
), ever AS (
    SELECT participant_id, scheme, bool_or(kind IN {activating}) AS ever_active
    FROM timeline WHERE sign = 1 GROUP BY participant_id, scheme
), month_end AS (
    SELECT DISTINCT ON (sign, participant_id, scheme, month) sign, participant_id, scheme, month, occurred_at, event_id,
           CASE WHEN kind IN {activating} THEN locality_code END AS active_in
    FROM timeline
    ORDER BY sign, participant_id, scheme, month, occurred_at DESC, event_id DESC
), changes AS (
    SELECT m.*, p.sex, p.birth_year,
           lag(active_in) OVER (PARTITION BY sign, participant_id, scheme ORDER BY month) AS before
    FROM month_end m JOIN person p USING (sign, participant_id)
), state AS (
    INSERT INTO participant_scheme_state
    SELECT DISTINCT ON (c.participant_id, c.scheme) c.participant_id, c.scheme, c.occurred_at, c.event_id,
           c.month, c.active_in, c.before, v.ever_active, c.sex, c.birth_year
    FROM changes c JOIN ever v USING (participant_id, scheme)
    WHERE c.sign = 1
    ORDER BY c.participant_id, c.scheme, c.month DESC
    {state_upsert}
)
{rederived_stock_changes}
