UPDATE ref_in s SET reason = %s WHERE reason IS NULL AND ({condition})
