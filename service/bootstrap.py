"""The composition root: the one place that turns Settings into wired objects.

Entrypoints call these functions; nothing here runs at import time.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from .config import Settings


def build_api(settings: Settings):
    """The Flask app with its publisher, pools and reference caches (issue 2)."""
    from .entrypoints.api.app import create_app

    return create_app(settings)


def build_consumer(settings: Settings, metrics=None):
    """The consumer worker (issue 3) with its Kafka consumer, dead-letter writer, store (its own
    database connections), retry policy and metrics (made here, or passed in), served on
    settings.worker_metrics_port."""
    import psycopg
    from kafka.errors import KafkaError

    from .adapters.kafka.consumer import DeadLetterWriter, make_consumer
    from .adapters.postgres.batch_store import PostgresBatchStore
    from .entrypoints.worker import Worker
    from .entrypoints.worker_metrics import ConsumerMetrics
    from .service_layer.retrying import Retry

    def connect() -> psycopg.Connection:
        return psycopg.connect(settings.database_url, connect_timeout=5, application_name="enrolment-worker")

    metrics = metrics or ConsumerMetrics()
    metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
    # Transient: the same for every record (errors of one record's content are handled before).
    retry = Retry(transient=(psycopg.Error, KafkaError))
    return Worker(settings, make_consumer(settings, group_id=settings.consumer_group), DeadLetterWriter(settings),
                  PostgresBatchStore(connect, settings.consumer_group), retry, metrics)


def build_relay(settings: Settings):
    """The outbox relay, with its own producer and database connection."""
    import psycopg

    from .adapters.kafka.publisher import KafkaPublisher
    from .entrypoints.relay import Relay

    return Relay(settings, KafkaPublisher(settings),
                 lambda: psycopg.connect(settings.database_url, connect_timeout=5, application_name="enrolment-relay"))


@contextmanager
def build_rebuild(settings: Settings, *, from_topic: bool = False, from_file: Path | None = None):
    """(target, source, decode) for service_layer.rebuild: a fresh rebuild schema (dropped on
    exit, swapped in or not) and the event store, the events topic or a JSON-lines file."""
    from functools import partial

    from .adapters.jsonlines import JsonLinesFile
    from .adapters.kafka.topic_records import TopicRecords
    from .adapters.postgres import migrate
    from .adapters.postgres.rebuild import RebuildTables, StoredEvents, create_rebuild_schema, drop_rebuild_schema
    from .contract.digest import digest_key
    from .domain.identity import Pseudonymiser
    from .entrypoints.consumer.decoding import record_row
    from .service_layer.rebuild import RecordSource

    migrate(settings.database_url)
    schema = create_rebuild_schema(settings.database_url)
    closers = []
    try:
        target = RebuildTables(settings.database_url, schema, settings.consumer_group)
        closers.append(target.close)
        source: RecordSource
        if from_file is not None:
            source = JsonLinesFile(from_file, settings.consumer_max_batch)
        elif from_topic:
            topic = TopicRecords(settings)
            closers.append(topic.close)
            source = topic
        else:
            source = StoredEvents(settings.database_url, schema, settings.consumer_max_batch)
        decode = partial(record_row, pseudonymiser=Pseudonymiser(settings.pseudonym_key),
                         key=digest_key(settings.pseudonym_key))
        yield target, source, decode
    finally:
        for close in reversed(closers):
            close()
        drop_rebuild_schema(settings.database_url, schema)
