UPDATE participant_identifiers p SET participant_id = m.winner
FROM unnest(%s::bigint[], %s::bigint[]) AS m(loser, winner)
WHERE p.participant_id = m.loser
