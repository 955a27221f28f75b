UPDATE participant_identifiers p SET participant_id = m.participant_id
FROM unnest(%s::bytea[], %s::bigint[]) AS m(identifier, participant_id) WHERE p.identifier = m.identifier
