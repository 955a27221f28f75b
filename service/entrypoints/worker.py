"""The consumer worker: poll -> decode -> validate -> batch -> apply (one transaction) -> commit.
The steps are in `consumer/` (decoding, the batch); this module runs them with the
collaborators service/bootstrap.py gives it.

Exactly-once effect: a batch's Kafka offsets are committed only after the database
transaction that applied it (and stored the same offsets in `consumer_offsets`) has
committed; re-delivered events are deduplicated by event_id in that transaction, so a crash
between the two commits, or a rebalance, costs at most a re-read.

Two threads: this one polls and decodes batch N+1 while a writer thread applies batch N
(waiting on PostgreSQL releases the GIL), except while that apply holds the apply lock and
runs Python, which every worker waits for. Kafka calls stay on this thread.

Failures: no record stops the worker. A record that does not decode, validate or make a row
(whatever it raises) goes to the dead-letter topic with the error; a batch that fails in
PostgreSQL on a record's content is split until that record stands alone, which is dead-
lettered, and the rest applied (adapters/postgres/isolating.py); a record reusing a stored
event's id with other content is dead-lettered as `event_id_conflict`. Other database errors
(lost connection, server restart, deadlock, a missing privilege) are the same for every
record: retried with backoff for ever; kafka-python reconnects to the broker by itself.
SIGTERM/SIGINT: the batch in hand is applied and committed, then the worker exits.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from ..adapters.kafka.consumer import DeadLetterWriter
from ..adapters.postgres.aggregates import BatchResult
from ..adapters.postgres.isolating import apply_isolating
from ..config import Settings
from ..contract.digest import digest_key
from ..domain.identity import Pseudonymiser
from .consumer.batch import Batch, Record
from .consumer.decoding import POISON, describe, record_row
from .worker_metrics import ConsumerMetrics

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0
GIL_SWITCH_INTERVAL_S = 0.001
# The cyclic collector's generation thresholds while a worker runs (default 700, 10, 10).
# Decoding allocates a few container objects per record that reference counting frees, yet
# at the default every 700 of them start a young collection, and each batch's 20,000 live
# rows, promoted, set off full ones (~70 ms each): the collector took ~1.1 s of a worker's
# ~9 s CPU over 300,000 events, ~0.25 s with these (docs/aggregation.md, "The worker").
# Cycles are rare here.
GC_THRESHOLDS = (50_000, 50, 100)
APPLY_CHECK_MS = 10  # while an apply runs, how often the collecting loop looks whether it is done
DECODING_PAUSE_MAX_S = 0.1  # the longest the decoding thread waits for the apply's locked Python
GIVE_UP_AFTER_STOP_S = 10.0  # a stop during a database outage exits uncommitted (nothing lost)
# Retried with backoff: errors that are the same for every record (adapters/postgres/isolating.py
# handles those that come from one record's content before they get here).
RETRIED = (psycopg.Error, KafkaError)


class StopRequested(Exception):
    """The worker was asked to stop while it could not apply the batch in hand."""


class Worker:
    """Runs the steps; its collaborators come in (service/bootstrap.py builds them): the Kafka
    consumer (subscribed by `run`), the dead-letter writer, a function opening a database
    connection, the metrics. `run` closes the consumer, the writer and its connection."""

    def __init__(self, settings: Settings, consumer: KafkaConsumer, dead_letters: DeadLetterWriter,
                 connect: Callable[[], psycopg.Connection], metrics: ConsumerMetrics | None = None):
        self.settings = settings
        self.metrics = metrics or ConsumerMetrics()
        self._consumer = consumer
        self._dead_letters = dead_letters
        self._connect = connect
        self._pseudonymiser = Pseudonymiser(settings.pseudonym_key)
        self._digest_key = digest_key(settings.pseudonym_key)
        self._stopping = threading.Event()
        self._decoding_allowed = threading.Event()
        self._decoding_allowed.set()
        self._conn: psycopg.Connection | None = None
        self._batch = Batch()
        self._inflight: tuple[Future, Batch] | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apply")

    # -- lifecycle ---------------------------------------------------------------------------
    def request_stop(self, *_: object) -> None:
        self._stopping.set()

    def run(self) -> None:
        with interpreter_tuned_for_batches():
            self._run()

    def _run(self) -> None:
        s, consumer = self.settings, self._consumer
        consumer.subscribe([s.events_topic], listener=_Rebalance(self))
        log.info("worker started", extra={"topic": s.events_topic, "group": s.consumer_group})
        try:
            while not self._stopping.is_set():
                self._fill()
                if self._batch.records:
                    self._hand_off()
            self._drain()
            log.info("worker stopped after committing the batch in hand")
        except StopRequested:
            log.warning("worker stopped with a batch not applied (will be re-read)")
        finally:
            self._writer.shutdown(wait=True)
            consumer.close(autocommit=False)
            self._dead_letters.close()
            if self._conn is not None:
                self._conn.close()

    # -- collecting a batch ------------------------------------------------------------------
    def _fill(self) -> None:
        """Collect records until the batch is full or the writer thread is free to take it.
        While an apply runs, the batch grows (up to CONSUMER_MAX_BATCH): batches are as large
        as the database's pace needs, and small and immediate when traffic is light."""
        s, consumer = self.settings, self._consumer
        while not self._stopping.is_set():
            room = s.consumer_max_batch - self._batch.records
            applying = self._inflight is not None and not self._inflight[0].done()
            if room <= 0 or (self._batch.records and not applying):
                return
            polled = consumer.poll(timeout_ms=APPLY_CHECK_MS if applying else s.consumer_max_wait_ms,
                                   max_records=room)
            self._record_lag()
            if self._inflight is not None and self._inflight[0].done():
                self._finish_inflight()  # commit its offsets now, not with the next hand-off
            for tp, records in polled.items():
                for record in records:
                    self._take(record)
                self._batch.offsets[tp] = records[-1].offset + 1
            if not polled and not applying and not self._batch.records:
                return  # idle: let run() check the stop flag

    def _take(self, record: Record) -> None:
        if not self._decoding_allowed.is_set():
            self._decoding_allowed.wait(DECODING_PAUSE_MAX_S)
        batch = self._batch
        if not batch.records:
            batch.started = time.monotonic()
        batch.records += 1
        try:
            table, row = record_row(record.value, self._pseudonymiser, self._digest_key)
        except POISON as exc:
            self._dead_letter(record, describe(exc))
            batch.dead_letters += 1
            return
        batch.add(record, table, row)

    def _dead_letter(self, record: Record, error: str) -> None:
        self._dead_letters.send(record, error)
        self.metrics.dead_letters.inc()
        log.warning("record sent to the dead-letter topic",
                    extra={"partition": record.partition, "offset": record.offset, "error": error})

    def _dead_letter_refused(self, batch: Batch, result: BatchResult) -> None:
        """After the database commit, before the Kafka commit: the records the apply refused.
        (A crash in between re-reads them; they are refused, and dead-lettered, again.)"""
        letters, conflicts = batch.refused_letters(result, self.settings.events_topic)
        if conflicts:
            self.metrics.event_id_conflicts.inc(conflicts)
        for record, error in letters:
            self._dead_letter(record, error)
        if letters:
            self._retry(self._dead_letters.flush, "dead-letter publish")

    # -- applying and committing -------------------------------------------------------------
    def _hand_off(self) -> None:
        """Apply the batch in hand on the writer thread; commit the previous one first."""
        batch, self._batch = self._batch, Batch()
        if batch.dead_letters:
            self._retry(self._dead_letters.flush, "dead-letter publish")
        self._finish_inflight()
        self._inflight = (self._writer.submit(self._retry, lambda: self._apply(batch), "apply"), batch)

    def _drain(self) -> None:
        if self._batch.records:
            self._hand_off()
        self._finish_inflight()

    def _finish_inflight(self) -> None:
        if self._inflight is None:
            return
        future, batch = self._inflight
        self._inflight = None
        result: BatchResult = future.result()
        self._dead_letter_refused(batch, result)
        self._commit(batch)
        self.metrics.observe_batch(batch.records, time.monotonic() - batch.started, result)

    def _apply(self, batch: Batch) -> BatchResult:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        offsets = {(tp.topic, tp.partition): o for tp, o in batch.offsets.items()}
        result, batch.refused = apply_isolating(self._conn, batch.enrolments, batch.conferences, batch.retractions,
                                                offsets=offsets,
                                                consumer_group=self.settings.consumer_group,
                                                locked_python=self._decoding_paused())
        return result

    @contextlib.contextmanager
    def _decoding_paused(self):
        """While this worker's apply holds the apply lock and runs Python, the decoding thread
        waits: every worker's applies queue behind that stretch, and sharing the GIL with
        decoding would run it at about half speed (docs/aggregation.md, "The worker")."""
        self._decoding_allowed.clear()
        try:
            yield
        finally:
            self._decoding_allowed.set()

    def _retry(self, action, what: str):
        delay, stop_seen = 0.1, None
        while True:
            try:
                return action()
            except RETRIED as exc:
                self.metrics.retries.inc()
                if isinstance(exc, psycopg.OperationalError) and self._conn is not None and self._conn.broken:
                    self._conn.close()
                    self._conn = None
                log.warning(f"{what} failed; retrying", extra={"error": type(exc).__name__, "retry_in_s": delay})
            if self._stopping.is_set():
                stop_seen = stop_seen or time.monotonic()
                if time.monotonic() - stop_seen > GIVE_UP_AFTER_STOP_S:
                    raise StopRequested(what)
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    def _commit(self, batch: Batch) -> None:
        consumer = self._consumer
        offsets = batch.committable(consumer.assignment())
        if not offsets:
            return
        try:
            consumer.commit(offsets)
        except KafkaError as exc:
            # Harmless: the next reader re-reads from the last committed offset and the
            # database deduplicates what it has applied already.
            log.warning("Kafka offset commit failed", extra={"error": type(exc).__name__})

    def _record_lag(self) -> None:
        consumer = self._consumer
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = consumer.position(tp)
            if position > highwater:
                self._reread_reset_partition(tp, position, highwater)
            else:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(highwater - position)

    def _reread_reset_partition(self, tp: TopicPartition, position: int, highwater: int) -> None:
        """The partition holds fewer records than this worker has read: the topic was recreated
        (a memory broker restarted, or someone deleted it). Reading on from here would skip every
        record below `position`; instead the partition is read again from its start, and a broker
        reset is recorded so that the relay publishes again every accepted event not yet stored
        (docs/durability.md)."""
        log.error("partition is behind this worker's position: reading it again from its start",
                  extra={"topic": tp.topic, "partition": tp.partition, "position": position, "highwater": highwater})
        self.metrics.partition_resets.labels(tp.topic, str(tp.partition)).inc()
        self._finish_inflight()  # its offsets (of the old topic) are stored before they are forgotten
        self._retry(lambda: self._note_partition_reset(tp), "recording the broker reset")
        self._batch.offsets.pop(tp, None)  # the old topic's offsets mean nothing on the new one
        self._consumer.seek_to_beginning(tp)

    def _note_partition_reset(self, tp: TopicPartition) -> None:
        from ..adapters.postgres import outbox

        with self._connect() as conn:
            conn.execute("DELETE FROM consumer_offsets WHERE consumer_group = %s AND topic = %s AND partition = %s",
                         (self.settings.consumer_group, tp.topic, tp.partition))
            outbox.record_reset(conn, f"worker found {tp.topic}[{tp.partition}] behind its position")

    # -- rebalances ----------------------------------------------------------------------------
    def on_revoked(self, revoked: list[TopicPartition]) -> None:
        # Runs on kafka-python's IO thread: nothing blocking here. Records in hand from revoked
        # partitions are still applied (the new owner's copies are deduplicated by event_id).
        for tp in revoked:
            self.metrics.forget_partition(tp.topic, tp.partition)


@contextlib.contextmanager
def interpreter_tuned_for_batches():
    """Process-wide settings for decoding and applying batches (a worker's run, a replay),
    restored after it (a worker may run inside another process: tests, the benchmark)."""
    # The apply thread waits on PostgreSQL ~10 times a batch and each time needs the GIL
    # back from the decoding thread, which is busy: at the default 5 ms switch interval
    # those hand-backs cost ~20 % of the throughput (docs/aggregation.md, "Measured").
    switch_interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        sys.setswitchinterval(switch_interval)
        gc.set_threshold(*thresholds)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, worker: Worker):
        self.worker = worker

    def on_partitions_revoked(self, revoked):
        self.worker.on_revoked(list(revoked))

    def on_partitions_assigned(self, assigned):
        pass

