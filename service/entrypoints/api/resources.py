"""What a worker process of the API holds: settings, a database pool, the publisher, the
token cache, the rate limiters and the ingestion's state, each a typed attribute set when
`app.build_resources` (the API's composition root) creates it.

Everything that opens a connection or starts a thread is made on first use, in the process
that uses it (gunicorn forks workers, and kafka-python's producer runs threads that a fork does not copy), and made again if the process id
changed since.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app
from psycopg_pool import ConnectionPool

from ...config import Settings

if TYPE_CHECKING:
    from .auth import Authenticator
    from .events.views import Ingestion
    from .ratelimit import RateLimiter

EXTENSION = "enrolment"


def utc_now() -> datetime:
    return datetime.now(UTC)


class ProcessLocal:
    """A value built lazily once per process by `factory` (thread-safe)."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._lock = threading.Lock()
        self._value: Any = None
        self._pid: int | None = None

    def get(self) -> Any:
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    self._value = self._factory()
                    self._pid = pid
        return self._value

    def built(self) -> Any | None:
        return self._value if self._pid == os.getpid() else None


class Resources:
    def __init__(self, settings: Settings, *, pool: ProcessLocal, publisher: ProcessLocal,
                 clock: Callable[[], datetime], authenticator: Authenticator, rate_limiter: RateLimiter,
                 failed_lookups: RateLimiter, ingestion: ProcessLocal):
        self.settings = settings
        self.clock = clock
        self.authenticator = authenticator
        self.rate_limiter = rate_limiter  # per agent
        self.failed_lookups = failed_lookups  # per client address: lookups of unknown tokens
        self._pool = pool
        self._publisher = publisher
        self._ingestion = ingestion

    @property
    def pool(self) -> ConnectionPool:
        """The worker's PostgreSQL pool (shared by every blueprint)."""
        return self._pool.get()

    @property
    def publisher(self):
        return self._publisher.get()

    @property
    def ingestion(self) -> Ingestion:
        """The events resource's reference caches, pseudonymiser and outbox."""
        return self._ingestion.get()

    def close(self) -> None:
        publisher = self._publisher.built()
        if publisher is not None:
            publisher.close()
        pool = self._pool.built()
        if pool is not None:
            pool.close()


def current_resources() -> Resources:
    return current_app.extensions[EXTENSION]
