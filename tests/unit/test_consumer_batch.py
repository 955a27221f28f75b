"""The batch step on its own (no broker, no database): rows go to their store's list beside
their records, a retraction's row learns where it was read, and only owned partitions' offsets
are committed. (Which records the apply refused: tests/unit/test_applying_use_case.py.)"""
import uuid
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from kafka import TopicPartition

from service.domain.model import CONFERENCE, ENROLMENT, RETRACTION
from service.entrypoints.consumer.batch import Batch

TOPIC = "events"


def record(partition: int, offset: int):
    return SimpleNamespace(topic=TOPIC, partition=partition, offset=offset, key=None, value=b"{}")


def row(length: int = 5):
    """A staging row as the batch sees it: the event_id first, the content digest last."""
    return (uuid.uuid4(), *range(length - 2), uuid.uuid4().bytes)


def filled(tables: list[str]) -> Batch:
    batch = Batch()
    for offset, table in enumerate(tables):
        batch.add(record(offset % 3, offset), table, row(15 if table == RETRACTION else 5))
    return batch


@given(st.lists(st.sampled_from([ENROLMENT, CONFERENCE, RETRACTION]), max_size=30))
def test_each_row_goes_to_its_store_beside_its_record(tables):
    batch = filled(tables)
    lists = ((batch.enrolments, batch.enrolment_records), (batch.conferences, batch.conference_records),
             (batch.retractions, batch.retraction_records))
    for (rows, records), table in zip(lists, (ENROLMENT, CONFERENCE, RETRACTION)):
        assert len(rows) == len(records) == tables.count(table)
        assert [r.offset for r in records] == [o for o, t in enumerate(tables) if t == table]
    for retraction, rec in zip(batch.retractions, batch.retraction_records):
        assert len(retraction) == 15 and retraction[-3:-1] == (rec.partition, rec.offset)


def test_only_owned_partitions_offsets_are_committed():
    owned, revoked = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    batch = Batch(offsets={owned: 12, revoked: 7})
    committable = batch.committable({owned, TopicPartition(TOPIC, 2)})
    assert list(committable) == [owned] and committable[owned].offset == 12
    assert Batch(offsets={revoked: 7}).committable({owned}) == {}
