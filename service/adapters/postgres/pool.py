from __future__ import annotations

from psycopg_pool import ConnectionPool


CONNECT_TIMEOUT_S = 3
WAIT_TIMEOUT_S = 5.0


def make_pool(url: str, *, min_size: int = 1, max_size: int = 8, name: str = "app") -> ConnectionPool:
    """A connection pool opened lazily: connections are made on first use, after fork.
    PostgreSQL down: a request waits at most WAIT_TIMEOUT_S for a connection (PoolTimeout),
    each connection attempt at most CONNECT_TIMEOUT_S, instead of psycopg's 30 s and the OS's."""
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=True,
        timeout=WAIT_TIMEOUT_S,
        # A PostgreSQL restart leaves dead connections in the pool; check before handing out.
        check=ConnectionPool.check_connection,
        kwargs={"autocommit": False, "application_name": f"enrolment-{name}", "connect_timeout": CONNECT_TIMEOUT_S},
    )
