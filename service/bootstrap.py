"""The composition root: the one place that turns Settings into wired objects.

Entrypoints call these functions; nothing here runs at import time.
"""
from __future__ import annotations

from .config import Settings


def build_api(settings: Settings):
    """The Flask app with its publisher, pools and reference caches (issue 2)."""
    from .entrypoints.api.app import create_app

    return create_app(settings)


def build_consumer(settings: Settings, metrics=None):
    """The consumer worker (issue 3) with its Kafka consumer, dead-letter writer, database
    connections and metrics (made here, or passed in), served on settings.worker_metrics_port."""
    import psycopg

    from .adapters.kafka.consumer import DeadLetterWriter, make_consumer
    from .entrypoints.worker import Worker
    from .entrypoints.worker_metrics import ConsumerMetrics

    metrics = metrics or ConsumerMetrics()
    metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
    return Worker(settings, make_consumer(settings, group_id=settings.consumer_group), DeadLetterWriter(settings),
                  lambda: psycopg.connect(settings.database_url, connect_timeout=5, application_name="enrolment-worker"),
                  metrics)


def build_relay(settings: Settings):
    """The outbox relay, with its own producer and database connection."""
    import psycopg

    from .adapters.kafka.publisher import KafkaPublisher
    from .entrypoints.relay import Relay

    return Relay(settings, KafkaPublisher(settings),
                 lambda: psycopg.connect(settings.database_url, connect_timeout=5, application_name="enrolment-relay"))
