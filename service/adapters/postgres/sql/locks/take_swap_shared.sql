-- Held by every apply for its whole transaction (SHARE does not conflict with SHARE).
LOCK TABLE {swap_lock} IN SHARE MODE
