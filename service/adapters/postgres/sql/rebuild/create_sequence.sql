CREATE SEQUENCE {schema}.participant_id_seq
