SELECT line, locality_code, reason FROM ref_in WHERE reason IS NOT NULL ORDER BY line
