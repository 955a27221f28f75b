"""The outbox relay: publishes again the accepted events that the broker may not hold.

The API stores each event in the outbox before its 202 and then publishes it itself; this loop
publishes a row only when that did not happen or may have been undone (docs/durability.md):
never acknowledged after `RELAY_GRACE_S`, acknowledged before the broker's last recorded reset,
or acknowledged and still unapplied after `RELAY_STALE_S`. A record published twice is a
duplicate, which the consumer counts once (event_id).

One relay process per stack (the runner starts it; docker-compose has its own service): two
would only publish some rows twice.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from kafka.errors import KafkaError

from ..adapters.kafka.publisher import PublishUnavailable
from ..adapters.postgres import outbox
from ..adapters.postgres.pool import LazyConnection
from ..config import Settings
from ..service_layer.ingestion import outgoing_record

log = logging.getLogger(__name__)

BATCH = 2000  # rows a round publishes at most (a broker reset after a burst: many rounds)
ENSURE_TOPICS_EVERY_S = 30.0  # and after a failed round: a broker that came back empty gets its topics


class Relay:
    def __init__(self, settings: Settings, publisher, connect: Callable[[], psycopg.Connection]):
        self.settings = settings
        self._publisher = publisher
        self._conn = LazyConnection(connect)
        self._stopping = threading.Event()
        self._broker_failed = False
        self.published = 0  # rows published since start (status and tests read it)

    def request_stop(self, *_: object) -> None:
        self._stopping.set()

    def run(self, ensure_topics: Callable[[], None] = lambda: None) -> None:
        """Rounds until stopped; `ensure_topics` (the topics with their configured partitions)
        now and then, and after a round the broker failed."""
        log.info("relay started", extra={"interval_s": self.settings.relay_interval_s})
        ensured_at = 0.0
        try:
            while not self._stopping.is_set():
                if self._broker_failed or time.monotonic() - ensured_at > ENSURE_TOPICS_EVERY_S:
                    ensured_at = time.monotonic()
                    try:
                        ensure_topics()
                        self._broker_failed = False
                    except KafkaError as exc:
                        log.warning("relay: could not ensure the topics", extra={"error": type(exc).__name__})
                if not self.round():
                    self._stopping.wait(self.settings.relay_interval_s)
        finally:
            self._publisher.close()
            self._conn.drop()

    def round(self) -> int:
        """Publish one batch of due rows; the number published (0 when none was due or the
        broker or the database is unavailable: the next round tries again)."""
        s = self.settings
        try:
            conn = self._conn.get()
            entries = outbox.due(conn, limit=BATCH, grace_s=s.relay_grace_s, stale_s=s.relay_stale_s)
            if not entries:
                return 0
            self._publisher.publish([outgoing_record(e) for e in entries])
            outbox.mark_published(conn, [e.event_id for e in entries])
        except PublishUnavailable as exc:
            log.warning("relay: the broker did not acknowledge; retrying", extra={"error": str(exc)})
            self._broker_failed = True
            return 0
        except psycopg.OperationalError as exc:
            log.warning("relay: database unavailable; retrying", extra={"error": type(exc).__name__})
            self._conn.drop()
            return 0
        self.published += len(entries)
        log.info("relay published outbox rows", extra={"events": len(entries)})
        return len(entries)
