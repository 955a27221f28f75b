"""The locks that serialise the service's writers, as table locks on empty tables in the
schema `service_locks` (migration 0030); the statements that take them are `sql/locks/*.sql`.

Advisory locks are open to every role: a read-only login could take the apply key and stall
every apply. LOCK TABLE in any mode stronger than ACCESS SHARE needs UPDATE, DELETE or
TRUNCATE on the table (PostgreSQL 16, LOCK), and naming the table needs USAGE on its schema:
nobody but the service's role (the owner) has either, so no reporting login can take or block
these. Both are transaction-scoped, like the advisory xact locks they replace.

One apply at a time: APPLY_LOCK in EXCLUSIVE mode. SWAP_LOCK is held in SHARE mode by every
apply for its whole transaction (SHARE does not conflict with SHARE) and exclusively by a
rebuild's swap: an apply stores its events before it waits for the apply lock, and the swap,
holding the apply lock, empties the tables those events went to; without it they would
deadlock.
"""
from __future__ import annotations

from functools import cache

from psycopg import sql

from .sql_files import composed

APPLY_LOCK = "service_locks.apply"
SWAP_LOCK = "service_locks.swap"


def _tables() -> dict[str, sql.Composable]:
    return {"apply_lock": sql.Identifier(*APPLY_LOCK.split(".")), "swap_lock": sql.Identifier(*SWAP_LOCK.split("."))}


@cache
def take_apply_lock() -> str:
    return composed("locks", "take_apply", **_tables()).as_string(None)


@cache
def take_swap_lock_shared() -> str:
    return composed("locks", "take_swap_shared", **_tables()).as_string(None)


@cache
def take_swap_lock_exclusive() -> str:
    return composed("locks", "take_swap_exclusive", **_tables()).as_string(None)
