from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from ...service_layer.unavailable import DatabaseUnavailable
from .sql_files import statements

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


@contextmanager
def outage_is_unavailable() -> Iterator[None]:
    """psycopg's outage errors (a lost or refused connection, a statement timeout, no pooled
    connection in time) as the service layer's DatabaseUnavailable; other errors propagate."""
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise DatabaseUnavailable(type(exc).__name__) from exc


def answers(pool: ConnectionPool, timeout_s: float) -> None:
    """Raise DatabaseUnavailable unless a connection of `pool` answers a trivial query, each
    step within `timeout_s` (readiness: any database error means not ready)."""
    try:
        with pool.connection(timeout=timeout_s) as conn:
            for statement in statements("pool", "answers", timeout_ms=sql.Literal(int(timeout_s * 1000))):
                conn.execute(statement)
    except psycopg.Error as exc:  # PoolTimeout is one too
        raise DatabaseUnavailable(type(exc).__name__) from exc


class LazyConnection:
    """One connection of a long-lived loop (the relay, the API's grouped outbox): made on first
    use, dropped after an error so that the next use makes a new one."""

    def __init__(self, connect: Callable[[], psycopg.Connection]):
        self.connect = connect
        self._conn: psycopg.Connection | None = None

    def get(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn

    def drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
