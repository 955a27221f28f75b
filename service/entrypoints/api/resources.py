"""What a worker process of the API holds: settings, a database pool, the publisher, caches.

Everything that opens a connection or starts a thread is made on first use, in the process
that uses it (gunicorn forks workers, and kafka-python's producer runs threads that a fork does not copy), and made again if the process id
changed since.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from psycopg_pool import ConnectionPool

from ...adapters.postgres import make_pool
from ...config import Settings

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
    def __init__(self, settings: Settings, *, publisher=None, pool: ConnectionPool | None = None,
                 clock: Callable[[], datetime] = utc_now):
        self.settings = settings
        self.clock = clock
        # Few connections: the hot path reads the database only on cache misses.
        self._pool = ProcessLocal(lambda: pool or make_pool(settings.database_url, max_size=8, name="api"))
        self._publisher = ProcessLocal(lambda: publisher or _default_publisher(settings))
        self.extras: dict[str, Any] = {}  # caches other blueprints keep per app

    @property
    def pool(self) -> ConnectionPool:
        """The worker's PostgreSQL pool (shared by every blueprint)."""
        return self._pool.get()

    @property
    def publisher(self):
        return self._publisher.get()

    def close(self) -> None:
        publisher = self._publisher.built()
        if publisher is not None:
            publisher.close()
        pool = self._pool.built()
        if pool is not None:
            pool.close()


def _default_publisher(settings: Settings):
    from ...adapters.kafka.publisher import KafkaPublisher

    return KafkaPublisher(settings)


def current_resources() -> Resources:
    return current_app.extensions[EXTENSION]
