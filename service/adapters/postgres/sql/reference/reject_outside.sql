-- A writer limited to localities (a reference token's) writes only inside them.
UPDATE ref_in s SET reason = %s WHERE reason IS NULL AND NOT ({in_scope})
