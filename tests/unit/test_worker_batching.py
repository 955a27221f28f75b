"""The worker's batching policy (adaptive batches), with an in-memory stand-in for the Kafka
consumer: a batch goes to the writer thread as soon as that is free, and grows while an
apply runs, up to CONSUMER_MAX_BATCH. (The real broker is in tests/aggregation.)"""
import threading
from concurrent.futures import Future
from datetime import UTC, datetime
from types import SimpleNamespace
import uuid

from kafka import TopicPartition

from service.adapters.postgres.record_rows import RecordDecoder
from service.config import Settings
from service.contract.digest import digest_key
from service.domain.identity import Pseudonymiser
from service.contract.events import encode_record
from service.domain.model import Agent, Channel, EnrolmentEvent, EnrolmentKind, Participant, Scheme
from service.entrypoints.consumer.batch import Batch
from service.entrypoints.worker import Worker
from service.service_layer.applying import Applied, BatchResult
from service.service_layer.retrying import Retry

TP = TopicPartition("events", 0)
DECODE = RecordDecoder(Pseudonymiser("k" * 32), digest_key("k" * 32))


def record(offset: int):
    event = EnrolmentEvent(
        event_id=uuid.uuid4(), kind=EnrolmentKind.REGISTERED, occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
        locality_code="87001", agent=Agent("agent-1", Channel.POST_OFFICE), scheme=Scheme.BHYT_HGD,
        participant=Participant(personal_id=f"087190{offset:06d}"),
    )
    return SimpleNamespace(topic=TP.topic, partition=TP.partition, offset=offset,
                           value=encode_record(event, datetime.now(UTC)))


class QueueConsumer:
    """poll() hands out up to `per_poll` queued records; records whether it was asked to wait."""

    def __init__(self, records, per_poll: int):
        self.queue, self.per_poll, self.polls, self.committed = list(records), per_poll, [], []

    def poll(self, timeout_ms: int, max_records: int):
        self.polls.append(timeout_ms)
        n = min(self.per_poll, max_records)
        taken, self.queue = self.queue[:n], self.queue[n:]
        return {TP: taken} if taken else {}

    def assignment(self):
        return {TP}

    def highwater(self, tp):
        return None

    def commit(self, offsets):
        self.committed.append(offsets)


class ListDeadLetters:
    def __init__(self, log=None):
        self.sent, self.log = [], log if log is not None else []

    def send(self, record, error):
        self.sent.append((record, error))

    def flush(self):
        self.log.append("dead letters flushed")


class NoStore:
    def apply(self, *rows_and_offsets):
        raise AssertionError("these tests never apply")


def worker(consumer, max_batch: int, dead_letters=None, store=None) -> Worker:
    return Worker(Settings(pseudonym_key="k" * 32, consumer_max_batch=max_batch, consumer_max_wait_ms=200),
                  consumer, DECODE, dead_letters or ListDeadLetters(), store or NoStore(), Retry(transient=()))


def in_flight(w: Worker) -> Future:
    future: Future = Future()
    w._inflight = (future, Batch(records=1, offsets={TP: 0}))
    return future


def test_idle_writer_takes_the_first_records_at_once():
    consumer = QueueConsumer([record(i) for i in range(50)], per_poll=3)
    w = worker(consumer, max_batch=1000)
    w._fill()
    assert w._batch.records == 3  # one poll, then straight to the free writer
    assert len(consumer.polls) == 1


def test_batch_grows_while_an_apply_runs_up_to_the_maximum():
    consumer = QueueConsumer([record(i) for i in range(100)], per_poll=7)
    w = worker(consumer, max_batch=40)
    in_flight(w)  # never finishes here
    w._fill()
    assert w._batch.records == 40
    assert all(t == 10 for t in consumer.polls)  # short polls: it looks often whether the apply is done


def test_batch_is_handed_off_when_the_apply_finishes_and_its_offsets_are_committed():
    consumer = QueueConsumer([record(i) for i in range(100)], per_poll=5)
    w = worker(consumer, max_batch=1000)
    future = in_flight(w)
    polls_before_done = 4
    original_poll = consumer.poll

    def poll(timeout_ms, max_records):
        if len(consumer.polls) == polls_before_done:
            future.set_result(Applied(BatchResult(applied=1, conferences=0, duplicates=0, newest_occurred_at=None),
                                      dead_letters=0, conflicts=0))
        return original_poll(timeout_ms, max_records)

    consumer.poll = poll
    w._fill()
    assert w._inflight is None and consumer.committed  # the finished batch's offsets went to Kafka
    assert w._batch.records == 5 * (polls_before_done + 1)


def test_run_tunes_the_collector_and_switch_interval_and_restores_them(monkeypatch):
    import gc
    import sys

    from service.entrypoints import worker as worker_module

    seen = {}
    w = worker(QueueConsumer([], per_poll=1), max_batch=10)
    monkeypatch.setattr(w, "_run", lambda: seen.update(gc=gc.get_threshold(), switch=sys.getswitchinterval()))
    before = gc.get_threshold(), sys.getswitchinterval()
    w.run()
    assert seen == {"gc": worker_module.GC_THRESHOLDS, "switch": worker_module.GIL_SWITCH_INTERVAL_S}
    assert (gc.get_threshold(), sys.getswitchinterval()) == before


def test_decoding_waits_while_the_apply_runs_python_under_the_lock(monkeypatch):
    from service.entrypoints import worker as worker_module

    monkeypatch.setattr(worker_module, "DECODING_PAUSE_MAX_S", 30.0)  # so only the pause's end frees it
    w = worker(QueueConsumer([], per_poll=1), max_batch=10)
    taken = threading.Event()
    decoding = threading.Thread(target=lambda: (w._take(record(0)), taken.set()))
    with w._decoding_paused():
        decoding.start()
        assert not taken.wait(0.3)
    assert taken.wait(5)  # released by the end of the locked stretch, not by the 30 s limit
    decoding.join(5)
    assert w._batch.records == 1 and len(w._batch.enrolments) == 1


def test_poison_goes_to_the_dead_letter_writer_given_and_is_counted():
    dead_letters = ListDeadLetters()
    w = worker(QueueConsumer([], per_poll=1), max_batch=10, dead_letters=dead_letters)
    w._take(SimpleNamespace(topic=TP.topic, partition=0, offset=9, key=None, value=b"not json"))
    (letter, error), = dead_letters.sent
    assert letter.offset == 9 and error.startswith("JSONDecodeError")
    assert w._batch.records == w._batch.dead_letters == 1 and not w._batch.enrolments
    assert w.metrics.registry.get_sample_value("enrolment_consumer_dead_letters_total") == 1


def test_refused_records_are_dead_lettered_and_flushed_before_the_offsets_are_committed():
    log = []

    class LoggingConsumer(QueueConsumer):
        def commit(self, offsets):
            log.append(("committed", {tp: o.offset for tp, o in offsets.items()}))

    class ConflictingStore:
        """Applies on the writer thread: the batch's second row is another event under a taken id."""

        def apply(self, enrolments, conferences, retractions, offsets, locked_python):
            log.append(("applied", dict(offsets)))
            return BatchResult(applied=1, conferences=0, duplicates=1, newest_occurred_at=None,
                               conflicts=frozenset({(enrolments[1][0], enrolments[1][-1])})), []

    dead_letters = ListDeadLetters(log)
    w = worker(LoggingConsumer([], per_poll=1), max_batch=10, dead_letters=dead_letters, store=ConflictingStore())
    w._take(record(0))
    w._take(record(1))
    w._batch.offsets[TP] = 2
    w._hand_off()
    w._finish_inflight()
    w._writer.shutdown(wait=True)
    assert [r.offset for r, _ in dead_letters.sent] == [1]
    assert log == [("applied", {(TP.topic, TP.partition): 2}), "dead letters flushed", ("committed", {TP: 2})]
    assert w.metrics.registry.get_sample_value("enrolment_consumer_event_id_conflicts_total") == 1
    assert w.metrics.registry.get_sample_value("enrolment_consumer_dead_letters_total") == 1
