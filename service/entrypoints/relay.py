"""The outbox relay: a loop that publishes again the accepted events the broker may not hold
(the use case: service/service_layer/relaying.py; docs/durability.md).

One relay process per stack (the runner starts it; docker-compose has its own service): two
would only publish some rows twice.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..config import Settings
from ..service_layer.ingestion import Publisher, PublishUnavailable
from ..service_layer.relaying import DueOutbox, publish_due
from ..service_layer.unavailable import DatabaseUnavailable

log = logging.getLogger(__name__)

BATCH = 2000  # rows a round publishes at most (a broker reset after a burst: many rounds)
ENSURE_TOPICS_EVERY_S = 30.0  # and after a failed round: a broker that came back empty gets its topics


class Relay:
    """Rounds of `publish_due` on the collaborators service/bootstrap.py gives it: the
    publisher and the outbox (both closed by `run`), and `ensure_topics` (creates the topics
    with their configured partitions; raises PublishUnavailable when the broker cannot be
    reached), called now and then and after a round the broker failed."""

    def __init__(self, settings: Settings, publisher: Publisher, outbox: DueOutbox,
                 ensure_topics: Callable[[], None] = lambda: None):
        self.settings = settings
        self._publisher = publisher
        self._outbox = outbox
        self._ensure_topics = ensure_topics
        self._stopping = threading.Event()
        self._broker_failed = False
        self.published = 0  # rows published since start (status and tests read it)

    def request_stop(self, *_: object) -> None:
        self._stopping.set()

    def run(self) -> None:
        """Rounds until stopped."""
        log.info("relay started", extra={"interval_s": self.settings.relay_interval_s})
        ensured_at = 0.0
        try:
            while not self._stopping.is_set():
                if self._broker_failed or time.monotonic() - ensured_at > ENSURE_TOPICS_EVERY_S:
                    ensured_at = time.monotonic()
                    try:
                        self._ensure_topics()
                        self._broker_failed = False
                    except PublishUnavailable as exc:
                        log.warning("relay: could not ensure the topics", extra={"error": str(exc)})
                if not self.round():
                    self._stopping.wait(self.settings.relay_interval_s)
        finally:
            self._publisher.close()
            self._outbox.close()

    def round(self) -> int:
        """Publish one batch of due rows; the number published (0 when none was due or the
        broker or the database is unavailable: the next round tries again)."""
        s = self.settings
        try:
            published = publish_due(self._outbox, self._publisher, limit=BATCH, grace_s=s.relay_grace_s,
                                    stale_s=s.relay_stale_s)
        except PublishUnavailable as exc:
            log.warning("relay: the broker did not acknowledge; retrying", extra={"error": str(exc)})
            self._broker_failed = True
            return 0
        except DatabaseUnavailable as exc:
            log.warning("relay: database unavailable; retrying", extra={"error": str(exc)})
            return 0
        if published:
            self.published += published
            log.info("relay published outbox rows", extra={"events": published})
        return published
