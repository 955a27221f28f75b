"""Use case: apply a decoded batch of topic records, and dead-letter what the store refused.

The store (adapters/postgres/batch_store.py) applies the batch's rows and stores its offsets in
one database transaction; re-delivered events are deduplicated there by event_id. The records
it refused — content failing in the database, another event's content under a stored event_id
(`event_id_conflict`), retractions their sender may not make — are then sent to the dead-letter
topic and flushed: after the database commit, before the caller commits the offsets to Kafka.
A crash in between re-reads them; they are refused, and dead-lettered, again. Which records
those are (`refused_letters`) follows from the batch's rows beside their records, the store's
result and the rows it refused; a retraction refused when its event arrives, batches after it
was read, is known only from the database (`StoredRecord`).

The store port's answers (`BatchResult`, `Refused`, `RefusedRetraction`) are defined here: the
adapters return them, the worker and its metrics read them.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

Offsets = Mapping[tuple[str, int], int]  # (topic, partition) -> the next offset to read
Record = Any  # a topic record: kafka-python's ConsumerRecord, or a StoredRecord

EVENT_ID_CONFLICT = "event_id_conflict: this event_id is stored with other content (a different event under a taken id)"


@dataclass(frozen=True)
class RefusedRetraction:
    event_id: uuid.UUID  # the retraction's
    error: str
    record_value: bytes | None  # the topic record, when known (for a dead letter)
    source_partition: int | None
    source_offset: int | None


@dataclass(frozen=True)
class StoredRecord:
    """A topic record known from the database, not in hand: a retraction refused when its event
    arrives, batches after it was read (a partition or offset of -1: not known)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @classmethod
    def of(cls, topic: str, refused: RefusedRetraction) -> "StoredRecord":
        return cls(topic, -1 if refused.source_partition is None else refused.source_partition,
                   -1 if refused.source_offset is None else refused.source_offset, None, refused.record_value)


@dataclass(frozen=True)
class Refused:
    """A row whose content failed in the database (adapters/postgres/isolating.py)."""

    list_index: int  # which of the batch's row lists: 0 enrolments, 1 conferences, 2 retractions
    index: int  # the row's position in it
    error: str


@dataclass(frozen=True)
class BatchResult:
    applied: int  # new enrolment events
    conferences: int  # new conference events
    duplicates: int  # events already stored (same event_id), skipped
    newest_occurred_at: datetime | None  # newest occurred_at among the new events
    rederived: int = 0  # participants re-derived from their history (late events, merges, attributes)
    # Applies are serialised by the apply lock: the time spent waiting for it, and holding it
    # until the commit (inside a caller's transaction, as in the replay's catch-up: until this
    # apply ends). Summed over the workers, held time near the wall time means the serialised
    # part is the bottleneck (more consumer processes would only wait longer).
    lock_wait_s: float = 0.0
    lock_held_s: float = 0.0
    # (event_id, content_digest) of the batch's rows that reuse a stored event's id with other
    # content: not applied (counted in `duplicates`); the caller dead-letters them.
    conflicts: frozenset[tuple] = frozenset()
    retractions: int = 0  # new retraction events
    retracted: int = 0  # events that stopped counting (retracted now, by this batch's or earlier retractions)
    retracted_on_arrival: int = 0  # of the batch's new events, those never counted (retracted already)
    # Retractions refused now (the sender may not retract the event): the caller dead-letters
    # them, those of earlier batches from the stored record.
    refused_retractions: tuple[RefusedRetraction, ...] = ()


Decode = Callable[[bytes], tuple[str, tuple]]  # the decode step: a record's bytes -> (its store, staging row)


class Poison(Exception):
    """Raised by the decode step for a record that is no valid, storable event; the message is
    its dead letter's error."""


class BatchStore(Protocol):
    def apply(self, enrolments: Sequence[tuple], conferences: Sequence[tuple], retractions: Sequence[tuple],
              offsets: Offsets, locked_python: Callable[[], AbstractContextManager]) -> tuple[BatchResult, list[Refused]]:
        """The rows and the offsets in one transaction (committed on return): what it did, and
        the rows refused for their content. `locked_python()` is entered while the apply holds
        the apply lock and runs Python."""

    def forget_partition(self, topic: str, partition: int, reason: str) -> None:
        """Forget the partition's stored offsets and record a broker reset (`reason`), for the
        relay to publish again what the broker may have lost (docs/durability.md)."""

    def close(self) -> None: ...


class DeadLetters(Protocol):
    def send(self, record: Record, error: str) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class DecodedBatch(Protocol):
    """The batch step (entrypoints/consumer/batch.py): rows by store, beside their records, row
    for row (rows: the event_id first, the content digest last)."""

    @property
    def enrolments(self) -> Sequence[tuple]: ...
    @property
    def conferences(self) -> Sequence[tuple]: ...
    @property
    def retractions(self) -> Sequence[tuple]: ...
    @property
    def enrolment_records(self) -> Sequence[Record]: ...
    @property
    def conference_records(self) -> Sequence[Record]: ...
    @property
    def retraction_records(self) -> Sequence[Record]: ...
    @property
    def offsets(self) -> Mapping[Any, int]: ...  # keyed by (topic, partition) pairs (kafka's TopicPartition)


class Retrying(Protocol):
    """Runs `action` until it succeeds, retrying transient errors (service_layer/retrying.py)."""

    def __call__(self, action: Callable[[], T], what: str) -> T: ...


@dataclass(frozen=True)
class Applied:
    result: BatchResult
    dead_letters: int  # records the store refused, dead-lettered and flushed
    conflicts: int  # of those, event_id conflicts


def apply_batch(batch: DecodedBatch, store: BatchStore, dead_letters: DeadLetters, retry: Retrying, *,
                events_topic: str, locked_python: Callable[[], AbstractContextManager] = nullcontext) -> Applied:
    """Apply `batch` (retried until the store commits it), then dead-letter the records it
    refused and flush them (retried until acknowledged): on return the caller may commit the
    batch's offsets to Kafka."""
    offsets = {(topic, partition): offset for (topic, partition), offset in batch.offsets.items()}
    result, refused = retry(lambda: store.apply(batch.enrolments, batch.conferences, batch.retractions,
                                                offsets, locked_python), "apply")
    letters, conflicts = refused_letters(batch, result, refused, events_topic)
    for record, error in letters:
        dead_letters.send(record, error)
        log.warning("record sent to the dead-letter topic",
                    extra={"partition": record.partition, "offset": record.offset, "error": error})
    if letters:
        retry(dead_letters.flush, "dead-letter publish")
    return Applied(result, len(letters), conflicts)


def refused_letters(batch: DecodedBatch, result: BatchResult, refused: Sequence[Refused],
                    events_topic: str) -> tuple[list[tuple[Record, str]], int]:
    """(record, error) of every record the apply refused, and how many of them are event_id
    conflicts: content failing in the database (`refused`), other content under a stored event_id,
    retractions the sender may not make (this batch's by their record, earlier ones, whose
    event arrived now, from the record stored with them)."""
    lists = ((batch.enrolments, batch.enrolment_records), (batch.conferences, batch.conference_records),
             (batch.retractions, batch.retraction_records))  # in Refused.list_index order
    letters: list[tuple[Record, str]] = [(lists[r.list_index][1][r.index], r.error) for r in refused]
    conflicts = 0
    if result.conflicts:
        for rows, records in lists:
            found = [(record, EVENT_ID_CONFLICT) for row, record in zip(rows, records)
                     if (row[0], row[-1]) in result.conflicts]
            letters += found
            conflicts += len(found)
    in_batch = {row[0]: record for row, record in zip(batch.retractions, batch.retraction_records)}
    for retraction in result.refused_retractions:
        letters.append((in_batch.get(retraction.event_id) or StoredRecord.of(events_topic, retraction),
                        retraction.error))
    return letters, conflicts
