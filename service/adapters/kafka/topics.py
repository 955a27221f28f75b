from __future__ import annotations

import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from ...config import Settings

log = logging.getLogger(__name__)


def ensure_topics(settings: Settings) -> None:
    """Create the events topic and its dead-letter topic if they do not exist yet. Their
    max.message.bytes: any record the events topic takes fits the dead-letter topic with its
    error headers (adapters/kafka/consumer.py, DeadLetterWriter)."""
    from .consumer import DEAD_LETTER_HEADROOM_BYTES

    wanted = {
        settings.events_topic: (settings.topic_partitions, settings.max_record_bytes),
        settings.dead_letter_topic: (1, settings.max_record_bytes + DEAD_LETTER_HEADROOM_BYTES),
    }
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="enrolment-admin")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, partitions, settings.topic_replication_factor,
                     topic_configs={"max.message.bytes": str(max_bytes)})
            for name, (partitions, max_bytes) in wanted.items()
            if name not in existing
        ]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
            log.info("created topics", extra={"topics": [t.name for t in missing]})
    finally:
        admin.close()
