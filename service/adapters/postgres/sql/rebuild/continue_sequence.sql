SELECT setval('public.participant_id_seq', greatest((SELECT last_value FROM {schema}.participant_id_seq), 1))
