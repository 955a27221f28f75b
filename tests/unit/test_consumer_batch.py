"""The batch step on its own (no broker, no database): rows go to their store's list beside
their records, a retraction's row learns where it was read, the apply's refusals become dead
letters naming the right records, and only owned partitions' offsets are committed."""
import uuid
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from kafka import TopicPartition

from service.domain.model import CONFERENCE, ENROLMENT, RETRACTION
from service.entrypoints.consumer.batch import EVENT_ID_CONFLICT, Batch, StoredRecord
from service.service_layer.applying import BatchResult, Refused, RefusedRetraction

TOPIC = "events"
NOTHING = BatchResult(applied=0, conferences=0, duplicates=0, newest_occurred_at=None)


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
    for (rows, records), table in zip(batch.lists(), (ENROLMENT, CONFERENCE, RETRACTION)):
        assert len(rows) == len(records) == tables.count(table)
        assert [r.offset for r in records] == [o for o, t in enumerate(tables) if t == table]
    for retraction, rec in zip(batch.retractions, batch.retraction_records):
        assert len(retraction) == 15 and retraction[-3:-1] == (rec.partition, rec.offset)


def test_refusals_conflicts_and_refused_retractions_name_their_records_in_order():
    batch = filled([ENROLMENT, CONFERENCE, ENROLMENT, RETRACTION, CONFERENCE])
    refused = [Refused(list_index=1, index=1, error="check violation")]
    conflicting = batch.enrolments[1]
    earlier = RefusedRetraction(event_id=uuid.uuid4(), error="not yours", record_value=b"stored",
                                source_partition=2, source_offset=40)
    this_batch = RefusedRetraction(event_id=batch.retractions[0][0], error="not yours either", record_value=None,
                                   source_partition=None, source_offset=None)
    result = BatchResult(applied=0, conferences=0, duplicates=1, newest_occurred_at=None,
                         conflicts=frozenset({(conflicting[0], conflicting[-1]), (uuid.uuid4(), b"other")}),
                         refused_retractions=(this_batch, earlier))
    letters, conflicts = batch.refused_letters(result, refused, TOPIC)
    assert conflicts == 1
    assert letters == [
        (batch.conference_records[1], "check violation"),
        (batch.enrolment_records[1], EVENT_ID_CONFLICT),
        (batch.retraction_records[0], "not yours either"),
        (StoredRecord(TOPIC, 2, 40, None, b"stored"), "not yours"),
    ]


def test_an_apply_refusing_nothing_makes_no_letters():
    assert filled([ENROLMENT, RETRACTION]).refused_letters(NOTHING, [], TOPIC) == ([], 0)


def test_only_owned_partitions_offsets_are_committed():
    owned, revoked = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    batch = Batch(offsets={owned: 12, revoked: 7})
    committable = batch.committable({owned, TopicPartition(TOPIC, 2)})
    assert list(committable) == [owned] and committable[owned].offset == 12
    assert Batch(offsets={revoked: 7}).committable({owned}) == {}
