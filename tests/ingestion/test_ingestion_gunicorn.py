"""The API as the runner launches it: gunicorn with gunicorn_conf and wsgi:app, env = Settings.to_env()."""
import os
import subprocess
import sys
import time

import pytest
import requests

from ingestion_helpers import auth, enrolment, read_topic
from service.adapters.embedded import free_port, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def served(settings, tokens, tmp_path):
    port = free_port()
    env = {**os.environ, **settings.with_(api_port=port, web_workers=2, web_threads=4).to_env()}
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


def test_gunicorn_serves_the_api_with_shared_metrics(settings, tokens, served):
    deadline = time.monotonic() + 20
    while requests.get(f"{served}/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "API never became ready"
        time.sleep(0.2)
    with requests.Session() as s:
        for _ in range(20):  # new connections: SO_REUSEPORT spreads them over both workers
            r = requests.post(f"{served}/v1/events", json=enrolment(), headers=auth(tokens.agent), timeout=10)
            assert r.status_code == 202, r.text
        metrics = s.get(f"{served}/metrics", timeout=5).text
    assert 'enrolment_api_requests_total{endpoint="/v1/events",method="POST",status="202"} 20.0' in metrics
    assert len(read_topic(settings, 20)) == 20
