"""A broker that restarts empty (Tansu keeps everything in memory) under a running worker: the
worker never skips the recreated topic's records, and a partition found behind the worker's
position is read again from its start and recorded as a broker reset (for the outbox relay)."""
import time

import psycopg
import pytest
from kafka import TopicPartition

from pipeline_helpers import produce, tables
from service.adapters.embedded import EmbeddedKafka
from service.adapters.kafka.topics import ensure_topics
from service.domain.aggregation import aggregate
from service.entrypoints.worker_metrics import ConsumerMetrics
from test_worker import in_process_worker, random_events

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def wait_for_figures(settings, events, timeout_s=90):
    deadline = time.monotonic() + timeout_s
    while tables(settings) != aggregate(events):
        if time.monotonic() >= deadline:
            with psycopg.connect(settings.database_url) as conn:
                print("OFFSETS", conn.execute("SELECT topic, partition, next_offset FROM consumer_offsets").fetchall())
                print("EVENTS", conn.execute("SELECT count(*) FROM enrolment_events").fetchall(), len(events))
                print("RESETS", conn.execute("SELECT * FROM broker_resets").fetchall())
            from kafka import KafkaConsumer, TopicPartition as TP
            c = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
            parts = c.partitions_for_topic(settings.events_topic)
            print("PARTITIONS", parts, c.end_offsets([TP(settings.events_topic, p) for p in parts or []]))
            c.close()
        assert time.monotonic() < deadline, "the figures never included every event"
        time.sleep(0.3)


def test_a_worker_reads_a_recreated_topic_from_its_start(settings, tmp_path):
    broker = EmbeddedKafka(log_file=tmp_path / "tansu.log").start()
    own = settings.with_(kafka_bootstrap_servers=broker.bootstrap_servers)
    ensure_topics(own)
    before, after = random_events(30, 300, seed=5), random_events(30, 40, seed=6)
    metrics = ConsumerMetrics()
    worker, thread = in_process_worker(own, metrics)
    try:
        produce(own, before)
        wait_for_figures(own, before)
        broker.stop()
        broker = EmbeddedKafka(port=broker.port, log_file=tmp_path / "tansu.log").start()
        ensure_topics(own)
        produce(own, after)  # fewer records per partition than the worker has read
        wait_for_figures(own, before + after)  # none of `after` skipped
        with psycopg.connect(own.database_url) as conn:
            (resets,) = conn.execute("SELECT count(*) FROM broker_resets").fetchone()
        assert resets >= 1  # Tansu keeps the old fetch positions: the worker noticed and said so
    finally:
        worker.request_stop()
        thread.join(30)
        broker.stop()


def test_a_partition_behind_the_position_is_read_again_and_recorded(settings):
    """What the worker does when it sees it (a fake consumer stands in for kafka-python here:
    whether a real client notices first depends on the broker; the database is real)."""
    tp = TopicPartition(settings.events_topic, 0)

    class Behind:
        sought = []

        def assignment(self):
            return {tp}

        def highwater(self, _):
            return 3

        def position(self, _):
            return 120

        def seek_to_beginning(self, *partitions):
            self.sought.extend(partitions)

    def no_decoding(value):
        raise AssertionError("nothing here is decoded")

    class NoDeadLetters:
        def send(self, record, error):
            raise AssertionError("nothing here is dead-lettered")

    from service.adapters.postgres.batch_store import PostgresBatchStore
    from service.entrypoints.worker import Worker
    from service.service_layer.retrying import Retry

    metrics = ConsumerMetrics()
    store = PostgresBatchStore(lambda: psycopg.connect(settings.database_url), settings.consumer_group)
    worker = Worker(settings, Behind(), no_decoding, NoDeadLetters(), store, Retry(transient=(psycopg.Error,)), metrics)
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, updated_at) "
                     "VALUES (%s, %s, 0, 120, now())", (settings.consumer_group, tp.topic))
    worker._batch.offsets[tp] = 121
    worker._record_lag()
    assert Behind.sought == [tp] and tp not in worker._batch.offsets
    assert metrics.registry.get_sample_value("enrolment_consumer_partition_resets_total",
                                             {"topic": tp.topic, "partition": "0"}) == 1
    with psycopg.connect(settings.database_url) as conn:
        (reason,) = conn.execute("SELECT reason FROM broker_resets").fetchone()
        assert "behind its position" in reason
        assert conn.execute("SELECT count(*) FROM consumer_offsets").fetchone() == (0,)
