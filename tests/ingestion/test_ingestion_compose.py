"""docker-compose.yml is valid (checked offline by Debian's docker-compose; no engine needed)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (system-packages.txt; `make test` installs it)")


SECRETS = ("PSEUDONYM_KEY", "POSTGRES_PASSWORD", "KAFKA_ADMIN_PASSWORD", "KAFKA_API_PASSWORD",
           "KAFKA_WORKER_PASSWORD", "KAFKA_READER_PASSWORD")


def compose(*args: str, without: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update({name: f"test-{name.lower()}" for name in SECRETS if name != without})
    return subprocess.run([COMPOSE, "-f", str(ROOT / "docker-compose.yml"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_compose_file_is_valid_and_has_the_whole_stack():
    result = compose("config")
    assert result.returncode == 0, result.stderr
    services = compose("config", "--services").stdout.split()
    assert sorted(services) == ["api", "kafka", "migrate", "postgres", "relay", "worker"]
    text = result.stdout
    assert "image: apache/kafka:" in text and "KAFKA_PROCESS_ROLES: broker,controller" in text
    assert "image: postgres:16" in text
    assert text.count("healthcheck:") >= 3  # postgres, kafka, api
    assert text.count("condition: service_completed_successfully") == 3  # api, relay and worker wait for migrate
    assert "enrolment migrate --create-topics" in text and "- worker" in text


@pytest.mark.parametrize("secret", SECRETS)
def test_compose_refuses_to_run_without_each_secret(secret):
    result = compose("config", without=secret)
    assert result.returncode != 0 and secret in result.stderr
    assert "test-" not in result.stdout  # nothing printed with the other secrets
