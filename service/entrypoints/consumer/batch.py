"""A batch of decoded records on its way to the database, and what follows from its apply:
the dead letters of the records the apply refused, and the offsets to commit to Kafka."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from ...domain.model import CONFERENCE, ENROLMENT
from ...service_layer.applying import BatchResult, Refused, RefusedRetraction

EVENT_ID_CONFLICT = "event_id_conflict: this event_id is stored with other content (a different event under a taken id)"

# A topic record as the steps use it: kafka-python's ConsumerRecord, or a StoredRecord.
Record = Any


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


@dataclass
class Batch:
    enrolments: list[tuple] = field(default_factory=list)
    conferences: list[tuple] = field(default_factory=list)
    retractions: list[tuple] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)  # next offset to read
    records: int = 0
    dead_letters: int = 0
    started: float = 0.0
    # The topic records of `enrolments` / `conferences`, row for row: for the dead letters of
    # records the apply refuses (their content fails in the database, or an event_id conflict).
    enrolment_records: list[Record] = field(default_factory=list)
    conference_records: list[Record] = field(default_factory=list)
    retraction_records: list[Record] = field(default_factory=list)

    def lists(self) -> tuple[tuple[list[tuple], list[Record]], ...]:
        """(rows, their records) by store, in the order apply_batch takes them."""
        return ((self.enrolments, self.enrolment_records), (self.conferences, self.conference_records),
                (self.retractions, self.retraction_records))

    def add(self, record: Record, table: str, row: tuple) -> None:
        """A decoded record's row (the decode step: `adapters/postgres/record_rows.py`), to the list of its store."""
        if table == ENROLMENT:
            self.enrolments.append(row)
            self.enrolment_records.append(record)
        elif table == CONFERENCE:
            self.conferences.append(row)
            self.conference_records.append(record)
        else:  # a retraction, with where it was read: a refusal known only later names it
            self.retractions.append(row[:-3] + (record.partition, record.offset, row[-1]))
            self.retraction_records.append(record)

    def refused_letters(self, result: BatchResult, refused: Sequence[Refused],
                        events_topic: str) -> tuple[list[tuple[Record, str]], int]:
        """(record, error) of every record the apply refused, and how many of them are event_id
        conflicts: content failing in the database (`refused`), other content under a stored event_id,
        retractions the sender may not make (this batch's by their record, earlier ones, whose
        event arrived now, from the record stored with them)."""
        lists = self.lists()
        letters: list[tuple[Record, str]] = [(lists[r.list_index][1][r.index], r.error) for r in refused]
        conflicts = 0
        if result.conflicts:
            for rows, records in lists:
                found = [(record, EVENT_ID_CONFLICT) for row, record in zip(rows, records)
                         if (row[0], row[-1]) in result.conflicts]
                letters += found
                conflicts += len(found)
        in_batch = {row[0]: record for row, record in zip(self.retractions, self.retraction_records)}
        for retraction in result.refused_retractions:
            letters.append((in_batch.get(retraction.event_id) or StoredRecord.of(events_topic, retraction),
                            retraction.error))
        return letters, conflicts

    def committable(self, owned: set[TopicPartition]) -> dict[TopicPartition, OffsetAndMetadata]:
        """The offsets to commit to Kafka: those of the partitions this worker still owns (a
        revoked partition's new owner commits its own)."""
        return {tp: OffsetAndMetadata(o, "", -1) for tp, o in self.offsets.items() if tp in owned}
