"""Producing test events to the real broker and waiting for the real consumer."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg
from kafka import KafkaProducer

from service.adapters.postgres.aggregates import read_aggregates
from service.contract.events import encode_record
from service.contract.topic_record import OutgoingRecord, record_headers, record_key
from service.domain.identity import Pseudonymiser
from service.domain.model import Event


def outgoing(event: Event, received_at: datetime, pseudonymiser: Pseudonymiser) -> OutgoingRecord:
    """The whole record of `event` as the API publishes it."""
    return OutgoingRecord(
        key=record_key(event, pseudonymiser),
        value=encode_record(event, received_at),
        headers=record_headers(str(event.event_id), str(event.kind)),
    )


def produce(settings, events, raw_values=()) -> int:
    """Publish events as the API does (same key and value), plus raw (poison) values."""
    pseudonymiser = Pseudonymiser(settings.pseudonym_key)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                             linger_ms=5, enable_idempotence=True)
    try:
        now = datetime.now(UTC)
        for e in events:
            r = outgoing(e, now, pseudonymiser)
            producer.send(settings.events_topic, key=r.key, value=r.value, headers=r.headers)
        for value in raw_values:
            producer.send(settings.events_topic, key=b"poison", value=value)
        producer.flush(30)
    finally:
        producer.close()
    return len(events) + len(raw_values)


def consumed(settings) -> int:
    """Records (including dead-lettered ones) whose offsets the consumer has stored."""
    with psycopg.connect(settings.database_url) as conn:
        (n,) = conn.execute("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer_group = %s",
                            (settings.consumer_group,)).fetchone()
    return n


def wait_consumed(settings, records: int, timeout_s: float = 60, processes=()) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if consumed(settings) >= records:
            return
        for p in processes:
            assert p.poll() is None, f"worker exited with {p.returncode}"
        time.sleep(0.2)
    raise AssertionError(f"consumer stored offsets for {consumed(settings)} of {records} records")


def tables(settings):
    with psycopg.connect(settings.database_url) as conn:
        return read_aggregates(conn)


def start_worker(settings, **env_overrides) -> subprocess.Popen:
    env = {**os.environ, **settings.to_env(), "WORKER_METRICS_PORT": "0", "LOG_LEVEL": "WARNING"}
    env.update({k: str(v) for k, v in env_overrides.items()})
    return subprocess.Popen([sys.executable, "-m", "service.entrypoints.cli", "worker"], env=env)


def stop_worker(process: subprocess.Popen, timeout_s: float = 30) -> int:
    if process.poll() is None:
        process.terminate()
    return process.wait(timeout_s)
