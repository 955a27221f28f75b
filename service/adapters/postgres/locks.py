"""The locks that serialise the service's writers, as table locks on empty tables in the
schema `service_locks` (migration 0030).

Advisory locks are open to every role: a read-only login could take the apply key and stall
every apply. LOCK TABLE in any mode stronger than ACCESS SHARE needs UPDATE, DELETE or
TRUNCATE on the table (PostgreSQL 16, LOCK), and naming the table needs USAGE on its schema:
nobody but the service's role (the owner) has either, so no reporting login can take or block
these. Both are transaction-scoped, like the advisory xact locks they replace.
"""
from __future__ import annotations

APPLY_LOCK = "service_locks.apply"
SWAP_LOCK = "service_locks.swap"

# One apply at a time (EXCLUSIVE conflicts with itself; not WAL-logged, unlike ACCESS EXCLUSIVE).
TAKE_APPLY_LOCK = f"LOCK TABLE {APPLY_LOCK} IN EXCLUSIVE MODE"
# Held by every apply for its whole transaction (SHARE does not conflict with SHARE) and
# exclusively by a rebuild's swap: an apply stores its events before it waits for the apply
# lock, and the swap, holding the apply lock, empties the tables those events went to;
# without this they would deadlock.
TAKE_SWAP_LOCK_SHARED = f"LOCK TABLE {SWAP_LOCK} IN SHARE MODE"
TAKE_SWAP_LOCK_EXCLUSIVE = f"LOCK TABLE {SWAP_LOCK} IN EXCLUSIVE MODE"
