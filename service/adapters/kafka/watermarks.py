"""High watermarks of topic partitions, for lag and dead-letter counts.

Tansu answers ListOffsets(LATEST) wrongly (the last batch's base offset + 1), so `end_offsets()` is not
used: the high watermark carried by fetch responses (`consumer.highwater(tp)`) is right. A
throw-away consumer without a group assigns the partitions, fetches once from just before the
known position and reads it.
"""
from __future__ import annotations

import time
from collections.abc import Mapping

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from ...service_layer.unavailable import Unreachable


def high_watermarks(
    bootstrap_servers: str,
    topics: list[str],
    *,
    near: Mapping[tuple[str, int], int] | None = None,
    timeout_s: float = 5.0,
    **options,
) -> dict[tuple[str, int], int]:
    """{(topic, partition): high watermark} for every partition of `topics`.

    `near` gives a known offset per partition (e.g. the consumer's position) to fetch from,
    so that only the tail is read. Raises TimeoutError when a partition does not answer.
    `options` go to the consumer (the caller's `client_options`, to authenticate).
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id="enrolment-status",
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=1024 * 1024,
        max_partition_fetch_bytes=64 * 1024,
        request_timeout_ms=int(timeout_s * 1000) + 1000,
        bootstrap_timeout_ms=int(timeout_s * 1000),
        **options,
    )
    try:
        partitions = []
        for topic in topics:
            ids = consumer.partitions_for_topic(topic)
            if ids is None:
                raise LookupError(f"topic {topic!r} does not exist")
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
        consumer.assign(partitions)
        near = near or {}
        for tp in partitions:
            consumer.seek(tp, max(0, near.get((tp.topic, tp.partition), 0) - 1))
        deadline = time.monotonic() + timeout_s
        marks: dict[tuple[str, int], int] = {}
        while len(marks) < len(partitions):
            if time.monotonic() > deadline:
                missing = [f"{tp.topic}/{tp.partition}" for tp in partitions if (tp.topic, tp.partition) not in marks]
                raise TimeoutError(f"no high watermark within {timeout_s}s for {', '.join(missing)}")
            consumer.poll(timeout_ms=200, max_records=1)
            for tp in partitions:
                mark = consumer.highwater(tp)
                if mark is not None:
                    marks[(tp.topic, tp.partition)] = mark
                    consumer.pause(tp)
        return marks
    finally:
        consumer.close()


class TopicWatermarks:
    """`high_watermarks` on one cluster, for `enrolment status`: Unreachable (with the broker
    and the error in its message) when the broker does not answer."""

    def __init__(self, bootstrap_servers: str, timeout_s: float, **options):
        self.bootstrap_servers = bootstrap_servers
        self.timeout_s = timeout_s
        self.options = options

    def high_watermarks(self, topics: list[str], near: Mapping[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        try:
            return high_watermarks(self.bootstrap_servers, topics, near=near, timeout_s=self.timeout_s, **self.options)
        except (KafkaError, TimeoutError, LookupError) as exc:
            raise Unreachable(f"broker {self.bootstrap_servers}: {type(exc).__name__}: {exc}") from exc
