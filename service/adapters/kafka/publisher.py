"""Publishing accepted events to the events topic.

One KafkaProducer per worker process, created on first use in that process (never before
gunicorn forks: its threads do not survive a fork), acks=all and idempotence set explicitly, values and keys
passed as bytes (no serializer callables).

The records' keys and headers are the contract's (service/contract/topic_record.py).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ...config import Settings
from ...contract.topic_record import OutgoingRecord
from ...service_layer.ingestion import PublishUnavailable
from .clients import make_producer

log = logging.getLogger(__name__)


BATCH_BYTES = 256 * 1024


class KafkaPublisher:
    def __init__(self, settings: Settings):
        self._settings = settings
        self._timeout_ms = max(1, int(settings.publish_timeout_s * 1000))
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = None
        self._pid: int | None = None
        self._last_failed = False  # the last publish of this process was not acknowledged

    def _make_producer(self) -> KafkaProducer:
        s = self._settings
        return make_producer(
            s,
            f"enrolment-api-{os.getpid()}",
            linger_ms=s.producer_linger_ms,
            # A partition's share of a 1,000-event request fits one batch: while a partition has
            # a second batch queued, kafka-python wakes its sender thread on every send().
            batch_size=BATCH_BYTES,
            metrics_enabled=False,  # kafka-python's own sensors: CPU on every send, never read here
            # Every wait is bounded by the publish timeout: connecting, metadata, each request.
            bootstrap_timeout_ms=self._timeout_ms,
            max_block_ms=self._timeout_ms,
            request_timeout_ms=self._timeout_ms,
            delivery_timeout_ms=self._timeout_ms + s.producer_linger_ms + 1000,
        )

    def _get(self) -> KafkaProducer:
        pid = os.getpid()
        if self._producer is None or self._pid != pid:
            with self._lock:
                if self._producer is None or self._pid != pid:
                    try:
                        self._producer = self._make_producer()
                    except KafkaError as exc:
                        raise PublishUnavailable(f"cannot connect to the broker: {type(exc).__name__}") from exc
                    self._pid = pid
        return self._producer

    def publish(self, records: Sequence[OutgoingRecord]) -> None:
        """Send all, then wait for every acknowledgement within the publish timeout.
        Raises PublishUnavailable unless the broker acknowledged every record."""
        if not records:
            return
        deadline = time.monotonic() + self._settings.publish_timeout_s
        producer = self._get()
        topic = self._settings.events_topic
        try:
            futures = [producer.send(topic, value=r.value, key=r.key, headers=r.headers) for r in records]
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            # Some failures leave the producer unusable for good (after a memory broker restarts,
            # its idempotent producer id is unknown: UnknownProducerIdError, then a fatal state on
            # every send). A producer that failed once is replaced; the next publish builds anew.
            self._last_failed = True
            self._discard(producer)
            raise PublishUnavailable(f"broker did not acknowledge in time: {type(exc).__name__}") from exc
        self._last_failed = False

    def _discard(self, producer: KafkaProducer) -> None:
        with self._lock:
            if self._producer is not producer:
                return  # another request replaced it already
            self._producer = None
        try:
            producer.close(timeout=0)  # type: ignore[union-attr]  # not None: it is self._producer
        except KafkaError as exc:
            log.warning("discarded producer did not close cleanly", extra={"error": type(exc).__name__})

    def ready(self, timeout_s: float) -> bool:
        """A produce would succeed, as far as can be told without producing: a bootstrap server
        accepts a connection, and the last publish of this process (if any) was acknowledged
        (after a broker restart the TCP port answers long before publishing works again)."""
        return self.reachable(timeout_s) and not self._last_failed

    def reachable(self, timeout_s: float) -> bool:
        """A bootstrap server accepts a TCP connection within `timeout_s`."""
        for server in self._settings.kafka_bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
                    return True
            except (OSError, ValueError):
                continue
        return False

    def close(self) -> None:
        with self._lock:
            if self._producer is not None and self._pid == os.getpid():
                self._producer.close(timeout=self._settings.publish_timeout_s)
            self._producer = None
