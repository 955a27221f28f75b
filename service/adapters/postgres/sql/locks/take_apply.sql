-- One apply at a time (EXCLUSIVE conflicts with itself; not WAL-logged, unlike ACCESS EXCLUSIVE).
LOCK TABLE {apply_lock} IN EXCLUSIVE MODE
