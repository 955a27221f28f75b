"""The API as the runner launches it: gunicorn with gunicorn_conf and wsgi:app, env = Settings.to_env()."""
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from ingestion_helpers import auth, enrolment, read_topic
from service.adapters.embedded import EmbeddedKafka, free_port, wait_for_port
from service.adapters.kafka.topics import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def serve(settings, tmp_path):
    port = free_port()
    env = {**os.environ, **settings.with_(api_port=port, web_workers=2).to_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:service.entrypoints.api.gunicorn_conf",
         "service.entrypoints.api.wsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "w"))
    try:
        wait_for_port("127.0.0.1", port, 30, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def served(settings, tokens, tmp_path):
    yield from serve(settings, tmp_path)


def wait_ready(base_url):
    deadline = time.monotonic() + 20
    while requests.get(f"{base_url}/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "API never became ready"
        time.sleep(0.2)


def test_gunicorn_serves_the_api_with_shared_metrics(settings, tokens, served):
    wait_ready(served)
    with requests.Session() as s:
        for _ in range(20):  # new connections: SO_REUSEPORT spreads them over both workers
            r = requests.post(f"{served}/v1/events", json=enrolment(), headers=auth(tokens.agent), timeout=10)
            assert r.status_code == 202, r.text
        metrics = s.get(f"{served}/metrics", timeout=5).text
    assert 'enrolment_api_requests_total{endpoint="/v1/events",method="POST",status="202"} 20.0' in metrics
    assert len(read_topic(settings, 20)) == 20


def test_gevent_workers_answer_concurrent_posts_then_202_within_the_timeout_when_the_broker_goes_away(
        settings, tokens, tmp_path):
    """Requests that wait on acks in one gevent worker don't block each other, and the publish
    timeout still bounds each wait once the broker is gone (the waits are gevent's, not threads'):
    the events are durable in the outbox, so they are accepted all the same."""
    broker = EmbeddedKafka(log_file=tmp_path / "tansu.log").start()
    own = settings.with_(kafka_bootstrap_servers=broker.bootstrap_servers, publish_timeout_s=1.0)
    ensure_topics(own)
    serving = serve(own, tmp_path)
    try:
        base_url = next(serving)
        wait_ready(base_url)
        with ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(lambda _: requests.post(f"{base_url}/v1/events", json=enrolment(),
                                                          headers=auth(tokens.agent), timeout=10).status_code,
                                  range(64)))
        assert codes == [202] * 64
        broker.stop()
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: requests.post(f"{base_url}/v1/events", json=enrolment(),
                                                            headers=auth(tokens.agent), timeout=20),
                                    range(8)))
        took = time.monotonic() - started
        assert [a.status_code for a in answers] == [202] * 8
        assert took < 1.0 + 5
        with psycopg.connect(own.database_url) as conn:
            (unpublished,) = conn.execute("SELECT count(*) FROM event_outbox WHERE published_at IS NULL").fetchone()
        assert unpublished == 8  # for the relay
    finally:
        serving.close()
        broker.stop()
