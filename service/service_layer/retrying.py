"""The worker's retry policy: errors that are the same for every record (a lost connection, a
server restart, a deadlock, a missing privilege, a broker that does not answer) are retried
with backoff, 0.1 s doubling up to MAX_BACKOFF_S, for ever — until the worker is asked to stop:
then it gives up GIVE_UP_AFTER_STOP_S later (nothing is lost: the batch is read again).

Which errors are transient comes from service/bootstrap.py (psycopg.Error, KafkaError); errors
that come from one record's content are handled before they get here (adapters/postgres/
isolating.py). The clock and the sleep are injected so that the policy runs in unit tests."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0
GIVE_UP_AFTER_STOP_S = 10.0  # a stop during a database outage exits uncommitted (nothing lost)


class StopRequested(Exception):
    """The worker was asked to stop while it could not complete the action in hand."""


class Retry:
    def __init__(self, transient: tuple[type[Exception], ...], *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.transient = transient
        self._clock = clock
        self._sleep = sleep

    def __call__(self, action: Callable[[], T], what: str, *, stopping: Callable[[], bool] = lambda: False,
                 on_retry: Callable[[Exception], None] = lambda exc: None) -> T:
        """`action()`'s result, once it succeeds; a transient error is passed to `on_retry` and
        retried after a pause; any other error propagates; StopRequested once `stopping()` has
        been true for GIVE_UP_AFTER_STOP_S while the action kept failing."""
        delay, stop_seen = FIRST_BACKOFF_S, None
        while True:
            try:
                return action()
            except self.transient as exc:
                on_retry(exc)
                log.warning(f"{what} failed; retrying", extra={"error": type(exc).__name__, "retry_in_s": delay})
            if stopping():
                now = self._clock()
                stop_seen = now if stop_seen is None else stop_seen
                if now - stop_seen > GIVE_UP_AFTER_STOP_S:
                    raise StopRequested(what)
            self._sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)
