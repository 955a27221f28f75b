"""A batch of decoded records on its way to the database (service_layer.applying.DecodedBatch:
rows by store beside their records), and the offsets to commit to Kafka after its apply."""
from __future__ import annotations

from dataclasses import dataclass, field

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from ...domain.model import CONFERENCE, ENROLMENT
from ...service_layer.applying import Record


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

    def committable(self, owned: set[TopicPartition]) -> dict[TopicPartition, OffsetAndMetadata]:
        """The offsets to commit to Kafka: those of the partitions this worker still owns (a
        revoked partition's new owner commits its own)."""
        return {tp: OffsetAndMetadata(o, "", -1) for tp, o in self.offsets.items() if tp in owned}
