ON CONFLICT (participant_id, scheme) DO UPDATE SET
    last_occurred_at = EXCLUDED.last_occurred_at, last_event_id = EXCLUDED.last_event_id,
    last_month = EXCLUDED.last_month, active_in = EXCLUDED.active_in,
    before_active_in = EXCLUDED.before_active_in, ever_active = EXCLUDED.ever_active,
    sex = EXCLUDED.sex, birth_year = EXCLUDED.birth_year
