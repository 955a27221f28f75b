SELECT count(*) FROM ref_in WHERE reason IS NULL
