DELETE FROM participant_scheme_state WHERE participant_id = ANY(%s)
