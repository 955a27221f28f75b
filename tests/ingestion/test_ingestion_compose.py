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


def compose(*args: str, key: str | None = "test-key") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PSEUDONYM_KEY"}
    if key:
        env["PSEUDONYM_KEY"] = key
    return subprocess.run([COMPOSE, "-f", str(ROOT / "docker-compose.yml"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_compose_file_is_valid_and_has_the_whole_stack():
    result = compose("config")
    assert result.returncode == 0, result.stderr
    services = compose("config", "--services").stdout.split()
    assert sorted(services) == ["api", "kafka", "migrate", "postgres", "worker"]
    text = result.stdout
    assert "image: apache/kafka:" in text and "KAFKA_PROCESS_ROLES: broker,controller" in text
    assert "image: postgres:16" in text
    assert text.count("healthcheck:") >= 3  # postgres, kafka, api
    assert text.count("condition: service_completed_successfully") == 2  # api and worker wait for migrate
    assert "enrolment migrate --create-topics" in text and "- worker" in text


def test_compose_refuses_to_run_without_a_pseudonym_key():
    result = compose("config", key=None)
    assert result.returncode != 0 and "PSEUDONYM_KEY" in result.stderr
