SELECT identifier, participant_id FROM participant_identifiers WHERE participant_id = ANY(%s)
