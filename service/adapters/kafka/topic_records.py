"""The events topic read from offset zero without a consumer group: the source of
`enrolment replay --from-topic` and of `enrolment replay export`."""
from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition

from ...config import Settings
from ...service_layer.applying import Offsets
from ...service_layer.rebuild import CatchUpFailed
from .consumer import make_consumer, read_to_end, topic_partitions


def open_topic_reader(settings: Settings) -> tuple[KafkaConsumer, list[TopicPartition]]:
    consumer = make_consumer(settings, group_id=None, client_id="enrolment-replay")
    partitions = topic_partitions(consumer, settings.events_topic)
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    return consumer, partitions


class TopicRecords:
    """The topic's record values as a rebuild's source (service_layer.rebuild.RecordSource)."""

    def __init__(self, settings: Settings):
        self.consumer, self.partitions = open_topic_reader(settings)

    def total(self) -> int:
        """The records the topic holds, as far as fetches have told."""
        return sum(self.consumer.highwater(tp) or 0 for tp in self.partitions)

    def batches(self) -> Iterator[list[bytes]]:
        for records in read_to_end(self.consumer, self.partitions):
            yield [r.value for r in records]

    def catch_up(self, live: Offsets) -> Iterator[list[bytes]]:
        """Up to the offsets the live consumer has applied."""
        until = {tp: live.get((tp.topic, tp.partition), 0) for tp in self.partitions}
        behind = {tp: o for tp, o in until.items() if self.consumer.position(tp) < o}
        if not behind:
            return
        for records in read_to_end(self.consumer, list(behind), until=behind, idle_timeout_s=10):
            yield [r.value for r in records]
        still = [tp for tp, o in behind.items() if self.consumer.position(tp) < o]
        if still:
            raise CatchUpFailed(f"could not catch up with the live consumer on {still}")

    def close(self) -> None:
        self.consumer.close(autocommit=False)
