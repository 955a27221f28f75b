"""The consumer worker: poll -> decode -> validate -> batch -> apply (one transaction) -> commit.
The steps are the decode step (adapters/postgres/record_rows.py), the batch (`consumer/`) and the service layer (applying a batch,
the retry policy); this module runs them with the collaborators service/bootstrap.py gives it:
the Kafka consumer, the decode step, the dead-letter writer, the store, the retry policy, the metrics.

Exactly-once effect: a batch's Kafka offsets are committed only after the database
transaction that applied it (and stored the same offsets in `consumer_offsets`) has
committed; re-delivered events are deduplicated by event_id in that transaction, so a crash
between the two commits, or a rebalance, costs at most a re-read.

Two threads: this one polls and decodes batch N+1 while a writer thread applies batch N
(waiting on PostgreSQL releases the GIL), except while that apply holds the apply lock and
runs Python, which every worker waits for. The consumer's calls stay on this thread; the
writer thread also dead-letters what its apply refused (the dead-letter writer is thread-safe).

Failures: no record stops the worker. A record that does not decode, validate or make a row
(whatever it raises) goes to the dead-letter topic with the error; a batch that fails in
PostgreSQL on a record's content is split until that record stands alone, which is dead-
lettered, and the rest applied (adapters/postgres/isolating.py); a record reusing a stored
event's id with other content is dead-lettered as `event_id_conflict`. Other database errors
(lost connection, server restart, deadlock, a missing privilege) are the same for every
record: retried with backoff for ever (service_layer/retrying.py); kafka-python reconnects to
the broker by itself.
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
from typing import TypeVar

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from ..config import Settings
from ..service_layer.applying import Applied, BatchStore, DeadLetters, Decode, Poison, Record, apply_batch
from ..service_layer.retrying import Retry, StopRequested
from .consumer.batch import Batch
from .worker_metrics import ConsumerMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")

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


class Worker:
    """Runs the steps; its collaborators come in (service/bootstrap.py builds them): the Kafka
    consumer (subscribed by `run`), the decode step, the dead-letter writer, the store, the retry
    policy, the metrics. `run` closes the consumer, the dead-letter writer and the store."""

    def __init__(self, settings: Settings, consumer: KafkaConsumer, decode: Decode, dead_letters: DeadLetters,
                 store: BatchStore, retry: Retry, metrics: ConsumerMetrics | None = None):
        self.settings = settings
        self.metrics = metrics or ConsumerMetrics()
        self._consumer = consumer
        self._dead_letters = dead_letters
        self._store = store
        self._retry_policy = retry
        self._decode = decode
        self._stopping = threading.Event()
        self._decoding_allowed = threading.Event()
        self._decoding_allowed.set()
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
            self._store.close()

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
            table, row = self._decode(record.value)
        except Poison as exc:
            self._dead_letter(record, str(exc))
            batch.dead_letters += 1
            return
        batch.add(record, table, row)

    def _dead_letter(self, record: Record, error: str) -> None:
        self._dead_letters.send(record, error)
        self.metrics.dead_letters.inc()
        log.warning("record sent to the dead-letter topic",
                    extra={"partition": record.partition, "offset": record.offset, "error": error})

    # -- applying and committing -------------------------------------------------------------
    def _hand_off(self) -> None:
        """Apply the batch in hand on the writer thread (service_layer/applying.py: the apply,
        then the dead letters of what the store refused, flushed); commit the previous one first."""
        batch, self._batch = self._batch, Batch()
        if batch.dead_letters:
            self._retry(self._dead_letters.flush, "dead-letter publish")
        self._finish_inflight()
        self._inflight = (self._writer.submit(
            apply_batch, batch, self._store, self._dead_letters, self._retry,
            events_topic=self.settings.events_topic, locked_python=self._decoding_paused), batch)

    def _drain(self) -> None:
        if self._batch.records:
            self._hand_off()
        self._finish_inflight()

    def _finish_inflight(self) -> None:
        if self._inflight is None:
            return
        future, batch = self._inflight
        self._inflight = None
        applied: Applied = future.result()
        self.metrics.dead_letters.inc(applied.dead_letters)
        self.metrics.event_id_conflicts.inc(applied.conflicts)
        self._commit(batch)
        self.metrics.observe_batch(batch.records, time.monotonic() - batch.started, applied.result)

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

    def _retry(self, action: Callable[[], T], what: str) -> T:
        """`action` under the retry policy, counted, given up on a while after a stop."""
        return self._retry_policy(action, what, stopping=self._stopping.is_set,
                                  on_retry=lambda exc: self.metrics.retries.inc())

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
        reason = f"worker found {tp.topic}[{tp.partition}] behind its position"
        self._retry(lambda: self._store.forget_partition(tp.topic, tp.partition, reason), "recording the broker reset")
        self._batch.offsets.pop(tp, None)  # the old topic's offsets mean nothing on the new one
        self._consumer.seek_to_beginning(tp)

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

