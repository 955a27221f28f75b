"""The "apply a batch" use case on fakes (no broker, no database): the store applies, the
records it refused become dead letters, flushed before the use case returns (so before the
caller commits the offsets to Kafka), conflicts are counted; nothing is sent when nothing is
refused; transient failures go through the retry given. Which records are dead-lettered
(`refused_letters`): the rows the database refused, event_id conflicts and refused retractions,
each naming its own record."""
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

from service.domain.model import CONFERENCE, ENROLMENT, RETRACTION
from service.service_layer.applying import (
    EVENT_ID_CONFLICT, BatchResult, Refused, RefusedRetraction, StoredRecord, apply_batch, refused_letters,
)

TOPIC = "events"
NOTHING = BatchResult(applied=0, conferences=0, duplicates=0, newest_occurred_at=None)


@dataclass
class FakeBatch:
    """The batch step's shape (applying.DecodedBatch): rows by store beside their records."""

    offsets: dict = field(default_factory=dict)
    enrolments: list = field(default_factory=list)
    conferences: list = field(default_factory=list)
    retractions: list = field(default_factory=list)
    enrolment_records: list = field(default_factory=list)
    conference_records: list = field(default_factory=list)
    retraction_records: list = field(default_factory=list)

    def add(self, record, store: str, row: tuple) -> None:
        rows, records = {ENROLMENT: (self.enrolments, self.enrolment_records),
                         CONFERENCE: (self.conferences, self.conference_records),
                         RETRACTION: (self.retractions, self.retraction_records)}[store]
        rows.append(row)
        records.append(record)


def record(offset: int):
    return SimpleNamespace(topic=TOPIC, partition=0, offset=offset, key=None, value=b"{}")


def row():
    return (uuid.uuid4(), "a", "b", uuid.uuid4().bytes)  # the event_id first, the content digest last


def batch_of(*stores: str) -> FakeBatch:
    batch = FakeBatch(offsets={(TOPIC, 0): len(stores)})
    for offset, store in enumerate(stores):
        batch.add(record(offset), store, row())
    return batch


class FakeStore:
    def __init__(self, log, result=None, refused=(), failures=0):
        self.log, self.result, self.refused, self.failures = log, result, list(refused), failures
        self.applied = []

    def apply(self, enrolments, conferences, retractions, offsets, locked_python):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database went away")
        with locked_python():
            self.applied.append((list(enrolments), list(conferences), list(retractions), dict(offsets)))
        self.log.append("applied")
        return self.result or BatchResult(applied=len(enrolments), conferences=len(conferences), duplicates=0,
                                          newest_occurred_at=None), self.refused


class FakeDeadLetters:
    def __init__(self, log):
        self.log, self.sent = log, []

    def send(self, record, error):
        self.sent.append((record.offset, error))
        self.log.append(("sent", record.offset))

    def flush(self):
        self.log.append("flushed")


def once(action, what):
    return action()


def test_a_batch_refusing_nothing_is_applied_with_its_offsets_and_sends_nothing():
    log = []
    batch = batch_of(ENROLMENT, CONFERENCE, ENROLMENT)
    store, dead_letters = FakeStore(log), FakeDeadLetters(log)
    applied = apply_batch(batch, store, dead_letters, once, events_topic=TOPIC)
    assert store.applied == [(batch.enrolments, batch.conferences, [], {(TOPIC, 0): 3})]
    assert log == ["applied"]  # no send, no flush
    assert (applied.result.applied, applied.result.conferences, applied.dead_letters, applied.conflicts) == (2, 1, 0, 0)


def test_refused_rows_and_conflicts_become_dead_letters_flushed_before_it_returns():
    log = []
    batch = batch_of(ENROLMENT, CONFERENCE, ENROLMENT, ENROLMENT)
    conflicting = batch.enrolments[2]
    result = BatchResult(applied=1, conferences=0, duplicates=1, newest_occurred_at=None,
                         conflicts=frozenset({(conflicting[0], conflicting[-1])}))
    store = FakeStore(log, result, refused=[Refused(list_index=1, index=0, error="DataError: out of range")])
    dead_letters = FakeDeadLetters(log)
    applied = apply_batch(batch, store, dead_letters, once, events_topic=TOPIC)
    assert dead_letters.sent == [(1, "DataError: out of range"), (3, EVENT_ID_CONFLICT)]
    assert log == ["applied", ("sent", 1), ("sent", 3), "flushed"]
    assert (applied.result, applied.dead_letters, applied.conflicts) == (result, 2, 1)


def test_the_apply_and_the_flush_go_through_the_retry_given():
    log, attempts = [], []

    def retry(action, what):
        for _ in range(5):
            attempts.append(what)
            try:
                return action()
            except ConnectionError:
                continue
        raise AssertionError("never succeeded")

    store = FakeStore(log, refused=[Refused(0, 0, "bad")], failures=2)
    applied = apply_batch(batch_of(ENROLMENT), store, FakeDeadLetters(log), retry, events_topic=TOPIC)
    assert attempts == ["apply", "apply", "apply", "dead-letter publish"]
    assert len(store.applied) == 1 and applied.dead_letters == 1


def test_the_locked_python_hook_is_entered_by_the_store():
    entered = []

    @contextmanager
    def paused():
        entered.append("paused")
        yield

    apply_batch(batch_of(ENROLMENT), FakeStore([]), FakeDeadLetters([]), once, events_topic=TOPIC,
                locked_python=paused)
    assert entered == ["paused"]


def test_refusals_conflicts_and_refused_retractions_name_their_records_in_order():
    batch = batch_of(ENROLMENT, CONFERENCE, ENROLMENT, RETRACTION, CONFERENCE)
    refused = [Refused(list_index=1, index=1, error="check violation")]
    conflicting = batch.enrolments[1]
    earlier = RefusedRetraction(event_id=uuid.uuid4(), error="not yours", record_value=b"stored",
                                source_partition=2, source_offset=40)
    unplaced = RefusedRetraction(event_id=uuid.uuid4(), error="not placed", record_value=b"old",
                                 source_partition=None, source_offset=None)
    this_batch = RefusedRetraction(event_id=batch.retractions[0][0], error="not yours either", record_value=None,
                                   source_partition=None, source_offset=None)
    result = BatchResult(applied=0, conferences=0, duplicates=1, newest_occurred_at=None,
                         conflicts=frozenset({(conflicting[0], conflicting[-1]), (uuid.uuid4(), b"other")}),
                         refused_retractions=(this_batch, earlier, unplaced))
    letters, conflicts = refused_letters(batch, result, refused, TOPIC)
    assert conflicts == 1
    assert letters == [
        (batch.conference_records[1], "check violation"),
        (batch.enrolment_records[1], EVENT_ID_CONFLICT),
        (batch.retraction_records[0], "not yours either"),
        (StoredRecord(TOPIC, 2, 40, None, b"stored"), "not yours"),
        (StoredRecord(TOPIC, -1, -1, None, b"old"), "not placed"),
    ]


def test_an_apply_refusing_nothing_makes_no_letters():
    assert refused_letters(batch_of(ENROLMENT, RETRACTION), NOTHING, [], TOPIC) == ([], 0)
