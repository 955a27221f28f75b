SELECT line, code, reason FROM loc_in WHERE reason IS NOT NULL ORDER BY line
