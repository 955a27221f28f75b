"""The dead-letter topic as `enrolment deadletters` sees it: every dead letter, read from the
start without a consumer group, and the events topic its records are published to again."""
from __future__ import annotations

from collections.abc import Sequence

from ...config import Settings
from .consumer import DeadLetter, make_consumer, make_dead_letter_producer, read_to_end, topic_partitions

SEND_TIMEOUT_S = 60


class DeadLetterTopic:
    def __init__(self, settings: Settings):
        self.settings = settings

    def read_all(self) -> list[DeadLetter]:
        consumer = make_consumer(self.settings, group_id=None, client_id="enrolment-deadletters")
        try:
            partitions = topic_partitions(consumer, self.settings.dead_letter_topic)
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            return [DeadLetter.from_record(r) for batch in read_to_end(consumer, partitions) for r in batch]
        finally:
            consumer.close(autocommit=False)

    def publish_to_events(self, records: Sequence[tuple[bytes | None, bytes | None]]) -> None:
        """Send (key, value) records to the events topic; returns once the broker has them all."""
        producer = make_dead_letter_producer(self.settings, "enrolment-deadletters-replay")
        try:
            futures = [producer.send(self.settings.events_topic, key=key, value=value) for key, value in records]
            producer.flush(SEND_TIMEOUT_S)
            for future in futures:
                future.get(timeout=SEND_TIMEOUT_S)
        finally:
            producer.close(timeout=5)
