"""The broker unreachable or gone: 503 with Retry-After within a bounded time, nothing accepted."""
import time

import pytest

from ingestion_helpers import auth, enrolment, read_topic
from service.adapters.embedded import EmbeddedKafka, free_port
from service.adapters.kafka.topics import ensure_topics
from service.entrypoints.api.app import create_app

pytestmark = pytest.mark.integration
TIMEOUT_S = 1.0


def timed_post(client, path, body, token):
    started = time.monotonic()
    r = client.post(path, json=body, headers=auth(token))
    return r, time.monotonic() - started


def test_unreachable_broker_answers_503_quickly_and_publishes_nothing(settings, tokens):
    # Same topic name as the real broker's, but a port nobody listens on.
    down = settings.with_(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", publish_timeout_s=TIMEOUT_S)
    app = create_app(down)
    client = app.test_client()
    r, took = timed_post(client, "/v1/events", enrolment(), tokens.agent)
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.mimetype == "application/problem+json" and r.json["type"].endswith("broker-unavailable")
    assert took < TIMEOUT_S + 3

    batch = {"events": [enrolment(), enrolment(locality_code="99999"), enrolment()]}
    r, took = timed_post(client, "/v1/events/batch", batch, tokens.agent)
    assert r.status_code == 503 and took < TIMEOUT_S + 3
    assert "results" not in r.json  # nothing is reported accepted

    assert client.get("/readyz").status_code == 503
    app.extensions["enrolment"].close()
    assert read_topic(settings, 0, timeout_s=1) == []


@pytest.mark.slow
def test_broker_that_goes_away_answers_503_within_the_publish_timeout(settings, tokens, tmp_path):
    broker = EmbeddedKafka(log_file=tmp_path / "tansu.log").start()
    try:
        own = settings.with_(kafka_bootstrap_servers=broker.bootstrap_servers, publish_timeout_s=TIMEOUT_S)
        ensure_topics(own)
        app = create_app(own)
        client = app.test_client()
        assert client.post("/v1/events", json=enrolment(), headers=auth(tokens.agent)).status_code == 202
        broker.stop()
        r, took = timed_post(client, "/v1/events/batch", {"events": [enrolment(), enrolment()]}, tokens.agent)
        assert r.status_code == 503 and r.headers["Retry-After"]
        assert took < TIMEOUT_S + 3
        r, took = timed_post(client, "/v1/events", enrolment(), tokens.agent)
        assert r.status_code == 503 and took < TIMEOUT_S + 3
        app.extensions["enrolment"].close()
    finally:
        broker.stop()
