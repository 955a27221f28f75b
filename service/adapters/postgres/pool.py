from __future__ import annotations

from psycopg_pool import ConnectionPool


def make_pool(url: str, *, min_size: int = 1, max_size: int = 8, name: str = "app") -> ConnectionPool:
    """A connection pool opened lazily: connections are made on first use, after fork."""
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=True,
        # A PostgreSQL restart leaves dead connections in the pool; check before handing out.
        check=ConnectionPool.check_connection,
        kwargs={"autocommit": False, "application_name": f"enrolment-{name}"},
    )
