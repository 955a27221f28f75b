"""Reading the events topic and writing dead letters (kafka-python).

Offsets are never auto-committed: the worker commits them only after the database
transaction that applied them has committed. Session and heartbeat timeouts come from
settings (short ones against Tansu, which holds a new group's JoinGroup for about half the session timeout).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, MessageSizeTooLargeError
from kafka.consumer.fetcher import ConsumerRecord
from kafka.net.compat import KafkaNetClient

from ...config import Settings
from .access import client_options
from .clients import make_producer

log = logging.getLogger(__name__)

# Headers of a dead letter: where the record came from and why it was refused.
SOURCE_TOPIC = "source_topic"
SOURCE_PARTITION = "source_partition"
SOURCE_OFFSET = "source_offset"
ERROR = "error"
VALUE_OMITTED = "value_omitted"  # set (to the value's size) when the value was too large to send
# Room for a dead letter's headers and the request's framing on top of the record itself.
DEAD_LETTER_HEADROOM_BYTES = 64 * 1024

# kafka-python warns when one step of its IO loop runs longer than 0.1 s ("blocking the event
# loop"). In a worker that is its own fetch handling sharing the GIL with decoding and the
# apply thread under a backlog: ~20 warnings a million events, expected and harmless. What
# matters is the group session (heartbeats every 2 s): warn from a stall of 1 s.
IO_STALL_WARNING_S = 1.0


def make_consumer(settings: Settings, *, group_id: str | None, client_id: str = "enrolment-worker") -> KafkaConsumer:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.consumer_max_batch,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
        fetch_max_wait_ms=max(10, settings.consumer_max_wait_ms),
        reconnect_backoff_max_ms=5000,
        kafka_client=partial(KafkaNetClient, slow_task_threshold_secs=IO_STALL_WARNING_S),
        **client_options(settings),
    )
    if group_id is not None:
        rejoin_after_metadata_change(consumer)
    return consumer


def rejoin_after_metadata_change(consumer: KafkaConsumer) -> None:
    """Make a rebalance that a change of the topic's partitions starts one kafka-python finishes.

    kafka-python 3.0.12 rejoins the group when the subscribed topic's partitions change (a memory
    broker restarted and auto-created the topic with its own partition count) without setting
    its rejoin flag. A broker holds the JoinGroup for seconds, so the join usually completes
    between two polls; by then the leader's new assignment has cleared the reason to rejoin, and
    the completed join is never taken up: the worker stayed "rebalancing", reading nothing, until
    it was stopped. Kafka's Java client sets the flag there too (KAFKA-9815); so does this, and
    the next poll completes the join. (Private attributes: kafka-python has no hook for it.)"""
    coordinator = consumer._coordinator
    need_rejoin = coordinator.need_rejoin

    def need_rejoin_flagged() -> bool:
        snapshot = coordinator._assignment_snapshot
        if snapshot is not None and snapshot != coordinator._metadata_snapshot:
            coordinator.request_rejoin()
        return need_rejoin()

    coordinator.need_rejoin = need_rejoin_flagged


def make_dead_letter_producer(settings: Settings, client_id: str) -> KafkaProducer:
    """A producer that can send any record the topics take, with a dead letter's headers."""
    return make_producer(settings, client_id, max_request_size=settings.max_record_bytes + DEAD_LETTER_HEADROOM_BYTES,
                         linger_ms=5, batch_size=64 * 1024)


@dataclass(frozen=True)
class DeadLetter:
    source_topic: str
    source_partition: int
    source_offset: int
    error: str
    key: bytes | None
    value: bytes | None
    dead_letter_offset: int | None = None

    @classmethod
    def from_record(cls, record: ConsumerRecord) -> "DeadLetter":
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or [])}
        return cls(
            source_topic=headers.get(SOURCE_TOPIC, ""),
            source_partition=int(headers.get(SOURCE_PARTITION, -1)),
            source_offset=int(headers.get(SOURCE_OFFSET, -1)),
            error=headers.get(ERROR, ""),
            key=record.key,
            value=record.value,
            dead_letter_offset=record.offset,
        )


class DeadLetterWriter:
    """Sends refused records, unchanged, to the dead-letter topic with headers that say why.

    A worker's two threads use it (poison while decoding, the apply's refusals on the writer
    thread): a lock makes each flush wait for every letter sent before it, whichever thread
    sent it; a send waits while a flush runs."""

    def __init__(self, settings: Settings, producer: KafkaProducer | None = None):
        self.topic = settings.dead_letter_topic
        self._producer = producer or make_dead_letter_producer(settings, "enrolment-dead-letters")
        self._pending: list[tuple] = []  # (letter, the send's future)
        self._lock = threading.RLock()  # re-entered: flush sends the failed letters again

    def send(self, record: ConsumerRecord, error: str) -> None:
        headers = [
            (SOURCE_TOPIC, record.topic.encode()),
            (SOURCE_PARTITION, str(record.partition).encode()),
            (SOURCE_OFFSET, str(record.offset).encode()),
            (ERROR, error[:2000].encode(errors="replace")),
        ]
        # Kafka needs a key or a value: a record with neither (a null tombstone) keeps an empty value.
        value = b"" if record.key is None and record.value is None else record.value
        try:
            self._send((record.key, value, headers))
        except MessageSizeTooLargeError:
            # Larger than MAX_RECORD_BYTES allows, yet the broker took it (its limit is higher):
            # the letter names the record, which stays on the source topic at that offset.
            log.error("record too large to dead-letter; sending the letter without its value",
                      extra={"partition": record.partition, "offset": record.offset, "bytes": len(value or b"")})
            self._send((record.key or b"", None, [*headers, (VALUE_OMITTED, str(len(value or b"")).encode())]))

    def _send(self, letter: tuple) -> None:
        key, value, headers = letter
        with self._lock:
            self._pending.append((letter, self._producer.send(self.topic, key=key, value=value, headers=headers)))

    def flush(self, timeout_s: float = 30) -> None:
        """Wait until every dead letter sent is acknowledged. Those that failed are sent again
        and the error raised, so that calling flush again (after a pause) completes them."""
        with self._lock:
            self._producer.flush(timeout=timeout_s)
            pending, self._pending = self._pending, []
            failed = None
            for letter, future in pending:
                try:
                    future.get(timeout=timeout_s)
                except KafkaError as exc:
                    failed = exc
                    self._send(letter)
            if failed is not None:
                raise failed

    def close(self) -> None:
        self._producer.close(timeout=5)


def read_to_end(
    consumer: KafkaConsumer, partitions: list[TopicPartition], *, idle_timeout_s: float = 3.0,
    until: dict[TopicPartition, int] | None = None,
) -> Iterator[list[ConsumerRecord]]:
    """Batches of records of the assigned `partitions` from their current positions until each
    position reaches its high watermark (or `until`), or nothing arrives for `idle_timeout_s`.

    The high watermark comes from fetch responses (`consumer.highwater`), not ListOffsets,
    which Tansu answers wrongly (the last batch's base offset + 1)."""
    idle_since = time.monotonic()
    while True:
        polled = consumer.poll(timeout_ms=200)
        records = [r for batch in polled.values() for r in batch]
        if records:
            idle_since = time.monotonic()
            yield records
        if _at_end(consumer, partitions, until):
            return
        if time.monotonic() - idle_since > idle_timeout_s:
            return


def _at_end(consumer: KafkaConsumer, partitions: list[TopicPartition], until: dict | None) -> bool:
    for tp in partitions:
        target = until.get(tp) if until is not None else consumer.highwater(tp)
        if target is None or consumer.position(tp) < target:
            return False
    return True


def topic_partitions(consumer: KafkaConsumer, topic: str, timeout_s: float = 30) -> list[TopicPartition]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic!r} has no partitions (does it exist?)")
        time.sleep(0.2)
