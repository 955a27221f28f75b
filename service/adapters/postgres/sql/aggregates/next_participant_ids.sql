SELECT nextval('participant_id_seq') FROM generate_series(1, %s)
