-- Held by a rebuild's swap: no apply is in flight while it empties the live tables.
LOCK TABLE {swap_lock} IN EXCLUSIVE MODE
