"""202 means durable on the embedded stack: SIGKILL every process of `enrolment run` right after
the last 202, or at a random moment of a burst, start it again on the same data directory, and
every event that got a 202 is counted exactly once (the embedded broker forgets everything;
the outbox in PostgreSQL does not)."""
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg
import pytest
import requests

from service.adapters.embedded import free_port
from service.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start(data_dir: Path, api_port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env.update(DATA_DIR=str(data_dir), API_PORT=str(api_port), WORKER_METRICS_PORT="0", LOG_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-m", "service.entrypoints.cli", "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, lines = time.monotonic() + 150, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
            return proc
    proc.kill()
    pytest.fail("enrolment run did not come up:\n" + "".join(lines)[-3000:])


def kill_everything(runner: subprocess.Popen, data_dir: Path) -> None:
    """SIGKILL the runner, every process it started and the embedded PostgreSQL (which pg_ctl
    detached), all at once: no process gets to clean up."""
    victims = [psutil.Process(runner.pid), *psutil.Process(runner.pid).children(recursive=True)]
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if pid_file.exists():
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        victims += [postmaster, *postmaster.children(recursive=True)]
    for p in victims:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=30)
    runner.wait(10)


def stack(data_dir: Path) -> Settings:
    return Settings.from_env({"DATA_DIR": str(data_dir)})  # what stack.env and the key file say


def agent_token(data_dir: Path) -> tuple[str, str]:
    """A token of an agent of a province, and one of its communes."""
    from service.domain import access
    from service.adapters.postgres import tokens
    from service.domain.model import Channel

    with psycopg.connect(stack(data_dir).database_url) as conn:
        commune, province = conn.execute(
            "SELECT c.code, p.code FROM localities c JOIN localities p ON p.code = c.parent_code "
            "WHERE p.level = 'province' ORDER BY c.code LIMIT 1").fetchone()
        tokens.upsert_agent(conn, "crash-agent", "Bưu điện", Channel.POST_OFFICE, [province])
        _, token = tokens.issue(conn, access.AGENT, "crash-agent", "crash test")
    return token, commune


def batch(commune: str, n: int) -> list[dict]:
    when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    return [{"event_id": str(uuid.uuid4()), "kind": "registered", "occurred_at": when, "locality_code": commune,
             "scheme": "BHXH_BB", "participant": {"si_number": f"{random.randrange(10**10):010d}"}} for _ in range(n)]


def post(base: str, token: str, events: list[dict]) -> set[str]:
    """The ids of `events` that got a 202 (an exception or another status: none)."""
    try:
        r = requests.post(f"{base}/v1/events/batch", json={"events": events},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except requests.RequestException:
        return set()
    return {e["event_id"] for e in events} if r.status_code == 202 else set()


def counted(data_dir: Path, ids: set[str], timeout_s: float) -> dict[str, int]:
    """After a restart: how often each id is in the event store, and the aggregate of them,
    once the outbox is empty (every accepted event stored)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(stack(data_dir).database_url, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM event_outbox").fetchone()[0] > 0:
            assert time.monotonic() < deadline, "accepted events never left the outbox"
            time.sleep(0.5)
        rows = conn.execute("SELECT event_id::text, count(*) FROM enrolment_events WHERE event_id::text = ANY(%s) "
                            "GROUP BY 1", (list(ids),)).fetchall()
    return dict(rows)


def new_participants(data_dir: Path) -> int:
    with psycopg.connect(stack(data_dir).database_url) as conn:
        return conn.execute("SELECT coalesce(sum(new_participants), 0) FROM agg_flows").fetchone()[0]


def boot(data_dir: Path) -> tuple[subprocess.Popen, int, str]:
    """`enrolment run` on `data_dir`: the runner, its API port and base URL."""
    api_port = free_port()
    return start(data_dir, api_port), api_port, f"http://127.0.0.1:{api_port}"


def test_every_202_survives_sigkill_of_the_whole_stack(tmp_path):
    runner, api_port, base = boot(tmp_path)
    try:
        token, commune = agent_token(tmp_path)
        # 1. six batches of 500, every one answered 202, then everything killed at once
        accepted = set()
        for _ in range(6):
            got = post(base, token, batch(commune, 500))
            assert len(got) == 500
            accepted |= got
        kill_everything(runner, tmp_path)

        runner = start(tmp_path, api_port)
        assert counted(tmp_path, accepted, 120) == {i: 1 for i in accepted}
        assert new_participants(tmp_path) == len(accepted)  # counted once, not twice

        # 2. a burst, killed at a random moment: what got a 202 is counted, once
        burst: set[str] = set()
        stop = threading.Event()

        def keep_posting():
            while not stop.is_set():
                burst.update(post(base, token, batch(commune, 200)))

        poster = threading.Thread(target=keep_posting)
        poster.start()
        time.sleep(random.uniform(0.5, 3.0))
        kill_everything(runner, tmp_path)
        stop.set()
        poster.join(60)
        assert burst, "nothing was accepted before the kill"

        runner = start(tmp_path, api_port)
        assert counted(tmp_path, burst, 120) == {i: 1 for i in burst}
        assert new_participants(tmp_path) >= len(accepted) + len(burst)
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            runner.wait(120)


def test_a_clean_stop_stores_every_accepted_event_before_it_stops(tmp_path):
    from service.adapters.embedded import EmbeddedPostgres

    runner, _, base = boot(tmp_path)
    try:
        token, commune = agent_token(tmp_path)
        accepted = set()
        for _ in range(10):  # a backlog: posted faster than the workers apply the first batches
            accepted |= post(base, token, batch(commune, 1000))
        assert len(accepted) == 10_000
        runner.send_signal(signal.SIGINT)  # Ctrl-C
        runner.wait(180)
    finally:
        if runner.poll() is None:
            runner.kill()
    server = EmbeddedPostgres(tmp_path / "postgres").start()  # the stack is down: look at its database alone
    try:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT count(*) FROM event_outbox").fetchone() == (0,)
            (stored,) = conn.execute("SELECT count(*) FROM enrolment_events WHERE event_id::text = ANY(%s)",
                                     (list(accepted),)).fetchone()
        assert stored == len(accepted)
    finally:
        server.stop(quiet=True)
