SELECT count(*) FROM loc_in WHERE reason IS NULL
