SELECT identifier, participant_id FROM participant_identifiers WHERE identifier = ANY(%b)
