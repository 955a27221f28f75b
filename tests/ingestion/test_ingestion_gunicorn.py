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

# Deadlines for a loaded 2-core CI machine, where gunicorn's start and each worker's first
# request (it connects to the broker and the database) can take many seconds. They bound the
# waits only: what the tests assert is unchanged, and a healthy run is as fast as before.
START_DEADLINE_S = 90
READY_DEADLINE_S = 120
REQUEST_TIMEOUT_S = 30


def serve(settings, tmp_path):
    port = free_port()
    env = {**os.environ, **settings.with_(api_port=port, web_workers=2).to_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:service.entrypoints.api.gunicorn_conf",
         "service.entrypoints.api.wsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "w"))
    try:
        wait_for_port("127.0.0.1", port, START_DEADLINE_S, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def served(settings, tokens, tmp_path):
    yield from serve(settings, tmp_path)


def wait_ready(base_url):
    """Until /readyz answers 200. A try that times out or is refused (a worker still starting)
    is tried again, on a new connection, until the deadline; then the last answer fails the test."""
    deadline = time.monotonic() + READY_DEADLINE_S
    while True:
        try:
            answer = requests.get(f"{base_url}/readyz", timeout=REQUEST_TIMEOUT_S)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:300]}"
        except (requests.ConnectionError, requests.Timeout) as exc:
            last = repr(exc)
        assert time.monotonic() < deadline, f"API not ready after {READY_DEADLINE_S} s: {last}"
        time.sleep(0.2)


def test_gunicorn_serves_the_api_with_shared_metrics(settings, tokens, served):
    wait_ready(served)
    with requests.Session() as s:
        for _ in range(20):  # new connections: SO_REUSEPORT spreads them over both workers
            # Not retried (a retry could count twice); the other worker's first request may be slow.
            r = requests.post(f"{served}/v1/events", json=enrolment(), headers=auth(tokens.agent),
                              timeout=REQUEST_TIMEOUT_S)
            assert r.status_code == 202, r.text
        metrics = s.get(f"{served}/metrics", timeout=REQUEST_TIMEOUT_S).text
    assert 'enrolment_api_requests_total{endpoint="/v1/events",method="POST",status="202"} 20.0' in metrics
    assert len(read_topic(settings, 20, timeout_s=READY_DEADLINE_S)) == 20


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
