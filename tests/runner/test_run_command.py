"""`enrolment run` as a user runs it: everything starts, serves, stops on Ctrl-C, and a second
start reuses the data directory."""
import json
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
        _a_killed_worker_is_restarted_and_the_stack_keeps_serving(tmp_path, api_port)
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


def _runner_status(data_dir):
    return json.loads((data_dir / "runner-status.json").read_text())


def _wait_for(condition, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _a_killed_worker_is_restarted_and_the_stack_keeps_serving(data_dir, api_port):
    before = _runner_status(data_dir)["workers"]
    assert [w["restarts"] for w in before] == [0, 0] and all(_alive(w["pid"]) for w in before)
    victim = before[0]["pid"]
    os.kill(victim, signal.SIGKILL)
    restarted = _wait_for(lambda: next((w for w in _runner_status(data_dir)["workers"]
                                        if w["index"] == 0 and w["restarts"] == 1 and w["pid"]), None),
                          30, "the killed worker to be restarted")
    assert restarted["pid"] != victim and _alive(restarted["pid"])
    assert restarted["last_exit_code"] == -signal.SIGKILL
    assert _runner_status(data_dir)["workers"][1]["pid"] == before[1]["pid"]  # the other one untouched
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/readyz", timeout=5) as response:
        assert response.status == 200
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    shown = subprocess.run([sys.executable, "-m", "service.entrypoints.cli", "status", "--json", "--no-api"],
                           env={**env, "DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=60)
    assert json.loads(shown.stdout)["worker_restarts"] == {"0": 1, "1": 0}
