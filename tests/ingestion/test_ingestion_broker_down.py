"""The broker unreachable, gone or restarted empty: the API still answers 202 within a bounded
time, because an accepted event is durable in the outbox before the answer; the relay publishes
what the broker never acknowledged, and the API's producer recovers without a restart."""
import time

import psycopg
import pytest

from ingestion_helpers import auth, enrolment, read_topic, value
from service.adapters.embedded import EmbeddedKafka, free_port
from service.adapters.kafka.publisher import KafkaPublisher
from service.adapters.postgres.outbox import RelayOutbox
from service.adapters.kafka.topics import ensure_topics
from service.adapters.postgres import outbox
from service.bootstrap import build_api
from service.entrypoints.relay import Relay

pytestmark = pytest.mark.integration
TIMEOUT_S = 1.0


def timed_post(client, path, body, token):
    started = time.monotonic()
    r = client.post(path, json=body, headers=auth(token))
    return r, time.monotonic() - started


def relay_for(settings) -> Relay:
    return Relay(settings.with_(relay_grace_s=0.0), KafkaPublisher(settings),
                 RelayOutbox(lambda: psycopg.connect(settings.database_url)))


def test_unreachable_broker_still_accepts_durably_and_the_relay_publishes_later(settings, tokens):
    # Same topic name as the real broker's, but a port nobody listens on.
    down = settings.with_(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", publish_timeout_s=TIMEOUT_S)
    app = build_api(down)
    client = app.test_client()
    single = enrolment()
    r, took = timed_post(client, "/v1/events", single, tokens.agent)
    assert r.status_code == 202 and took < TIMEOUT_S + 3
    batch = {"events": [enrolment(), enrolment(locality_code="99999"), enrolment()]}
    r, took = timed_post(client, "/v1/events/batch", batch, tokens.agent)
    assert r.status_code == 207 and r.json["accepted"] == 2 and took < TIMEOUT_S + 3
    assert client.get("/readyz").status_code == 503  # it says the broker is not there
    app.extensions["enrolment"].close()
    assert read_topic(settings, 0, timeout_s=1) == []

    with psycopg.connect(settings.database_url) as conn:
        assert outbox.pending(conn) == (3, 3)  # stored, never acknowledged
    assert relay_for(settings).round() == 3  # the real broker's address: published now
    ids = {value(rec)["event_id"] for rec in read_topic(settings, 3, timeout_s=10)}
    assert ids == {single["event_id"], batch["events"][0]["event_id"], batch["events"][2]["event_id"]}


@pytest.mark.slow
def test_a_broker_restarted_empty_is_survived_without_restarting_the_api(settings, tokens, tmp_path):
    broker = EmbeddedKafka(log_file=tmp_path / "tansu.log").start()
    try:
        own = settings.with_(kafka_bootstrap_servers=broker.bootstrap_servers, publish_timeout_s=TIMEOUT_S)
        ensure_topics(own)
        app = build_api(own)
        client = app.test_client()
        before = enrolment()
        assert client.post("/v1/events", json=before, headers=auth(tokens.agent)).status_code == 202
        broker.stop()
        during = [enrolment(), enrolment()]
        r, took = timed_post(client, "/v1/events/batch", {"events": during}, tokens.agent)
        assert r.status_code == 202 and took < TIMEOUT_S + 3
        # The same port, a new memory broker: the topic and everything on it are gone.
        broker = EmbeddedKafka(port=broker.port, log_file=tmp_path / "tansu.log").start()
        ensure_topics(own)
        assert client.get("/readyz").status_code == 503  # the port answers, but the last publish failed
        with psycopg.connect(own.database_url) as conn:
            outbox.record_reset(conn, "test: broker restarted")
        after, deadline = [], time.monotonic() + 30
        # until the API publishes again itself (its acknowledgements are written with the next request)
        while len(after) < 2 or not any(_published(own, e["event_id"]) for e in after):
            assert time.monotonic() < deadline, "the API's producer did not recover"
            after.append(enrolment())
            assert client.post("/v1/events", json=after[-1], headers=auth(tokens.agent)).status_code == 202
            time.sleep(0.1)
        assert client.get("/readyz").status_code == 200
        assert relay_for(own).round() >= 3  # `before` (its broker is gone) and `during`, at least
        expected = {e["event_id"] for e in [before, *during, *after]}
        assert {value(rec)["event_id"] for rec in read_topic(own, len(expected), timeout_s=10)} == expected
        app.extensions["enrolment"].close()
    finally:
        broker.stop()


def _published(settings, event_id: str) -> bool:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT published_at FROM event_outbox WHERE event_id = %s", (event_id,)).fetchone()
    return row is not None and row[0] is not None
