"""The outbox and its relay against the real PostgreSQL and the real broker: admission tells
new events, duplicates and conflicts apart; the relay publishes exactly the rows the broker
may not hold."""
from __future__ import annotations

import uuid

import psycopg
import pytest

from service.adapters.kafka.consumer import make_consumer, read_to_end, topic_partitions
from service.adapters.kafka.publisher import KafkaPublisher
from service.adapters.postgres.outbox import RelayOutbox
from service.adapters.postgres import outbox
from service.entrypoints.relay import Relay

pytestmark = pytest.mark.integration


def entry(event_id=None, digest=b"d" * 16, kind="registered") -> outbox.OutboxEntry:
    event_id = event_id or uuid.uuid4()
    return outbox.OutboxEntry(event_id, digest, b"key", b'{"event_id": "%s"}' % str(event_id).encode(), kind)


def test_admission_stores_new_events_and_gives_the_digest_of_known_ones(database_url):
    first, second = entry(), entry()
    with psycopg.connect(database_url) as conn:
        assert outbox.admit(conn, [first, second]).new == {first.event_id, second.event_id}
        conflicting = entry(second.event_id, digest=b"x" * 16)
        again = outbox.admit(conn, [first, conflicting, third := entry()])
        assert again.new == {third.event_id}
        assert again.known == {first.event_id: b"d" * 16, second.event_id: b"d" * 16}
        assert again.is_same_event(first) and not again.is_same_event(conflicting)
        # the conflicting copy changed nothing
        (digest,) = conn.execute("SELECT content_digest FROM event_outbox WHERE event_id = %s",
                                 (second.event_id,)).fetchone()
        assert bytes(digest) == b"d" * 16
        assert outbox.pending(conn) == (3, 3)


def _relay(settings) -> Relay:
    return Relay(settings.with_(relay_grace_s=0.0), KafkaPublisher(settings),
                 RelayOutbox(lambda: psycopg.connect(settings.database_url)))


def read_topic(settings) -> list:
    """Every record on the events topic, read to its high watermark."""
    consumer = make_consumer(settings, group_id=None, client_id="test-reader")
    try:
        parts = topic_partitions(consumer, settings.events_topic)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        return [r for batch in read_to_end(consumer, parts, idle_timeout_s=2.0) for r in batch]
    finally:
        consumer.close()


def test_the_relay_publishes_what_the_broker_never_acknowledged_and_what_a_reset_lost(settings):
    entries = [entry() for _ in range(5)]
    relay = _relay(settings)
    with psycopg.connect(settings.database_url) as conn:
        outbox.admit(conn, entries)
        outbox.mark_published(conn, [entries[0].event_id])  # the API's own publish was acknowledged
        assert relay.round() == 4  # the other four were never acknowledged
        assert relay.round() == 0  # nothing is due twice
        topic = read_topic(settings)
        assert sorted(r.value for r in topic) == sorted(e.value for e in entries[1:])
        assert {dict(r.headers)["event_id"] for r in topic} == {str(e.event_id).encode() for e in entries[1:]}
        assert outbox.pending(conn) == (5, 0)

        outbox.record_reset(conn, "test: the broker lost its memory")
        assert relay.round() == 5  # every acknowledged row was acknowledged by the lost broker
        assert relay.round() == 0
    relay.request_stop()
    relay.run()  # returns at once, closes its producer and connection


def test_the_relay_waits_out_the_apis_own_publish(settings):
    relay = Relay(settings.with_(relay_grace_s=3600.0), KafkaPublisher(settings),
                  RelayOutbox(lambda: psycopg.connect(settings.database_url)))
    with psycopg.connect(settings.database_url) as conn:
        outbox.admit(conn, [entry()])
        assert relay.round() == 0  # accepted a moment ago: the API is still publishing it
        conn.execute("UPDATE event_outbox SET accepted_at = now() - interval '2 hours'")
        conn.commit()
        assert relay.round() == 1


def test_the_relay_survives_an_unreachable_broker(settings):
    relay = Relay(settings.with_(relay_grace_s=0.0, kafka_bootstrap_servers="127.0.0.1:1", publish_timeout_s=0.5),
                  KafkaPublisher(settings.with_(kafka_bootstrap_servers="127.0.0.1:1", publish_timeout_s=0.5)),
                  RelayOutbox(lambda: psycopg.connect(settings.database_url)))
    with psycopg.connect(settings.database_url) as conn:
        outbox.admit(conn, [entry()])
        assert relay.round() == 0
        assert outbox.pending(conn) == (1, 1)  # still there, for the next round
