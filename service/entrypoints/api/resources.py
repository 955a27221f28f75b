"""What a worker process of the API holds: settings, the publisher, the token cache, the rate
limiters, the ingestion's state and the ports the views call (the lookup of known events, the
report store, the reference loaders, the database's readiness: each takes a connection of the
process's pool), each a typed attribute set when `bootstrap.build_api_resources` (the
composition root) creates it. The views reach the adapters only through these.

Everything that opens a connection or starts a thread is made on first use, in the process
that uses it (gunicorn forks workers, and kafka-python's producer runs threads that a fork
does not copy), and made again if the process id changed since.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from flask import current_app

from ...config import Settings
from ...domain.identity import Pseudonymiser
from ...domain.reference_data import LoadReport
from ...service_layer.ingestion import Outbox
from ...service_layer.reporting import ReportStore
from ...service_layer.retractions import FindKnown

if TYPE_CHECKING:
    from .auth import Authenticator
    from .events.checks import EventChecks
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


@dataclass
class Ingestion:
    """The events resource's state in one process: reference caches, the pseudonymiser for keys
    and the outbox (`bootstrap.build_ingestion`)."""

    checks: EventChecks
    pseudonymiser: Pseudonymiser
    digest_key: bytes
    outbox: Outbox


class LoadRows(Protocol):
    """A reference loader (denominators, targets): rows outside `within` (the writer's subtree
    roots; empty: the nation) are rejected, the others merged; a dry run writes nothing."""

    def __call__(self, rows: list[dict], *, dry_run: bool, within: frozenset[str]) -> LoadReport: ...


class Resources:
    def __init__(self, settings: Settings, *, pool: ProcessLocal, publisher: ProcessLocal,
                 clock: Callable[[], datetime], authenticator: Authenticator, rate_limiter: RateLimiter,
                 failed_lookups: RateLimiter, ingestion: ProcessLocal, known_events: FindKnown,
                 reports: Callable[[], AbstractContextManager[ReportStore]], load_denominators: LoadRows,
                 load_targets: LoadRows, check_database: Callable[[float], None]):
        self.settings = settings
        self.clock = clock
        self.authenticator = authenticator
        self.rate_limiter = rate_limiter  # per agent
        self.failed_lookups = failed_lookups  # per client address: lookups of unknown tokens
        self.known_events = known_events  # accepted events among ids (retractions), on a pooled connection
        self.reports = reports  # `with reports() as store:` the report queries on one pooled connection
        self.load_denominators = load_denominators
        self.load_targets = load_targets
        self.check_database = check_database  # readiness: raises DatabaseUnavailable unless it answers in time
        self._pool = pool
        self._publisher = publisher
        self._ingestion = ingestion

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
