DELETE FROM participant_identifiers WHERE identifier = ANY(%s)
