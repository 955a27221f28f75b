"""`enrolment run` as a user runs it: everything starts, serves, stops on Ctrl-C, and a second
start reuses the data directory."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from service.adapters.embedded import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _start(data_dir, api_port):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(DATA_DIR=str(data_dir), API_PORT=str(api_port), WORKER_METRICS_PORT="0")
    return subprocess.Popen(
        [sys.executable, "-m", "service.entrypoints.cli", "run"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _read_until_running(proc, timeout_s=120) -> str:
    out, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        if "Ctrl-C stops everything" in line:
            return "".join(out)
    proc.kill()
    pytest.fail("run did not come up:\n" + "".join(out)[-4000:])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop(proc) -> str:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    rest, _ = proc.communicate(timeout=60)
    return rest


def test_run_serves_and_stops_everything_then_restarts_on_the_same_data(tmp_path):
    api_port = free_port()
    proc = _start(tmp_path, api_port)
    try:
        banner = _read_until_running(proc)
        assert "localities: 3,356 added" in banner  # nation + 34 provinces + 3,321 communes
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/readyz", timeout=5) as response:
            assert response.status == 200
        db_port = int(re.search(r"SQL\s+host 127\.0\.0\.1 port (\d+) database postgres", banner).group(1))
        broker_port = int(re.search(r"broker\s+127\.0\.0\.1:(\d+)", banner).group(1))
    finally:
        _stop(proc)
    assert proc.returncode is not None
    for port in (api_port, db_port, broker_port):
        assert not _port_open(port), f"port {port} still open after Ctrl-C"

    again = _start(tmp_path, api_port)
    try:
        banner = _read_until_running(again)
        assert "localities: 0 added, 0 changed, 3,356 unchanged" in banner
        assert "migrations: 0 applied now" in banner
    finally:
        _stop(again)
