from __future__ import annotations

import logging

from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import IncompatibleBrokerVersion, TopicAlreadyExistsError

from ...config import Settings
from .access import client_options

log = logging.getLogger(__name__)


def ensure_topics(settings: Settings) -> None:
    """Create the events topic and its dead-letter topic if they do not exist yet, and give an
    existing one its configured partitions if it has fewer (a broker that restarted empty
    auto-creates a topic on the first metadata request, Tansu with 4 partitions). Their
    max.message.bytes: any record the events topic takes fits the dead-letter topic with its
    error headers (adapters/kafka/consumer.py, DeadLetterWriter); retention TOPIC_RETENTION_MS."""
    from .consumer import DEAD_LETTER_HEADROOM_BYTES

    wanted = {
        settings.events_topic: (settings.topic_partitions, settings.max_record_bytes),
        settings.dead_letter_topic: (1, settings.max_record_bytes + DEAD_LETTER_HEADROOM_BYTES),
    }
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="enrolment-admin",
                             **client_options(settings))
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, partitions, settings.topic_replication_factor,
                     topic_configs={"max.message.bytes": str(max_bytes), "retention.ms": str(settings.topic_retention_ms)})
            for name, (partitions, max_bytes) in wanted.items()
            if name not in existing
        ]
        _grow(admin, {name: partitions for name, (partitions, _) in wanted.items() if name in existing})
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
            log.info("created topics", extra={"topics": [t.name for t in missing]})
    finally:
        admin.close()


def _grow(admin: KafkaAdminClient, wanted: dict[str, int]) -> None:
    """Existing topics with fewer partitions than wanted get the missing ones (never fewer:
    Kafka cannot remove partitions; more than wanted is said in the log)."""
    if not wanted:
        return
    described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(wanted))}
    short = {name: NewPartitions(total_count=n) for name, n in wanted.items() if described.get(name, n) < n}
    for name, n in wanted.items():
        if described.get(name, n) > n:
            log.warning("topic has more partitions than configured", extra={"topic": name, "partitions": described[name]})
    if short:
        try:
            admin.create_partitions(short)
        except IncompatibleBrokerVersion:  # Tansu 0.6 has no CreatePartitions
            log.error("topic has fewer partitions than configured and this broker cannot add any",
                      extra={"topics": sorted(short)})
            return
        log.warning("topic had fewer partitions than configured: added", extra={"topics": sorted(short)})
