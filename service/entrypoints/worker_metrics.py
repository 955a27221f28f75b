"""Prometheus metrics of one consumer worker, on its own registry and HTTP port."""
from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ..service_layer.applying import BatchResult


class ConsumerMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.events_applied = Counter("enrolment_consumer_events_applied", "New events applied to the aggregates", registry=r)
        self.duplicates = Counter("enrolment_consumer_duplicates_skipped", "Re-delivered events skipped (event_id seen before)", registry=r)
        self.dead_letters = Counter("enrolment_consumer_dead_letters", "Poison records sent to the dead-letter topic", registry=r)
        self.event_id_conflicts = Counter(
            "enrolment_consumer_event_id_conflicts", "Records dead-lettered because their event_id is stored with other content",
            registry=r)
        self.partition_resets = Counter(
            "enrolment_consumer_partition_resets", "Partitions found behind the worker's position (topic recreated) "
            "and read again from their start", ["topic", "partition"], registry=r)
        self.retractions = Counter("enrolment_consumer_retractions", "New retraction events stored", registry=r)
        self.events_retracted = Counter("enrolment_consumer_events_retracted",
                                        "Events taken out of the figures by a retraction", registry=r)
        self.retractions_refused = Counter(
            "enrolment_consumer_retractions_refused", "Retractions dead-lettered: the sender may not retract the event",
            registry=r)
        self.retries = Counter("enrolment_consumer_retries", "Database or broker operations retried after an error", registry=r)
        self.batch_size = Histogram("enrolment_consumer_batch_size", "Records per applied batch", registry=r,
                                    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000))
        self.batch_seconds = Histogram("enrolment_consumer_batch_duration_seconds",
                                       "From the first record of a batch to its offsets committed", registry=r,
                                       buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        # rate() of these, summed over the workers: the share of time the apply lock is waited
        # for and held (held near 1: the serialised part is saturated, docs/aggregation.md).
        self.lock_wait_seconds = Counter("enrolment_consumer_apply_lock_wait_seconds",
                                         "Time spent waiting for the apply lock", registry=r)
        self.lock_held_seconds = Counter("enrolment_consumer_apply_lock_held_seconds",
                                         "Time the apply lock was held, until the commit", registry=r)
        self.lag = Gauge("enrolment_consumer_lag", "High watermark minus position, per partition",
                         ("topic", "partition"), registry=r)
        self.freshness = Gauge("enrolment_consumer_freshness_seconds",
                               "Now minus the newest occurred_at applied by this worker", registry=r)
        self._newest: float | None = None
        self.freshness.set_function(lambda: time.time() - self._newest if self._newest else 0.0)

    def observe_batch(self, records: int, seconds: float, result: BatchResult) -> None:
        self.batch_size.observe(records)
        self.batch_seconds.observe(seconds)
        self.events_applied.inc(result.applied + result.conferences)
        self.duplicates.inc(result.duplicates)
        self.retractions.inc(result.retractions)
        self.events_retracted.inc(result.retracted)
        self.retractions_refused.inc(len(result.refused_retractions))
        self.lock_wait_seconds.inc(result.lock_wait_s)
        self.lock_held_seconds.inc(result.lock_held_s)
        if result.newest_occurred_at is not None:
            self.note_occurred(result.newest_occurred_at)

    def note_occurred(self, moment: datetime) -> None:
        ts = moment.timestamp()
        self._newest = ts if self._newest is None else max(self._newest, ts)

    def forget_partition(self, topic: str, partition: int) -> None:
        try:
            self.lag.remove(topic, str(partition))
        except KeyError:
            pass  # never had a lag reading

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        if port:
            start_http_server(port, addr=addr, registry=self.registry)
