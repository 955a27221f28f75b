"""End-to-end freshness: time from the API's 202 to the event being counted in the aggregates.

The real API (gunicorn, `service.entrypoints.api`) and a real worker process (`enrolment
worker`) run against the given PostgreSQL and broker; paced single-event POSTs at a fixed rate
come from 32 keep-alive connections (an answer waits for the broker's ack: with 8, a slower
machine reached only 344 of 500 events/s); a poller sees when each event's row is committed in
`enrolment_events` — the same transaction that changes the agg_* tables, so that is the moment
the figure is visible. Used by bench/consumer_throughput.py.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from service.adapters.embedded import free_port, wait_for_port
from service.adapters.kafka.topics import ensure_topics
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.reference import load_vietnam_localities
from service.config import Settings
from service.domain.model import Channel
from service.entrypoints.cli.migrate import prepare_database

ROOT = Path(__file__).resolve().parents[1]


def _body(commune: str, n: int) -> bytes:
    return json.dumps({
        "event_id": str(uuid.uuid4()), "kind": "registered", "occurred_at": datetime.now(UTC).isoformat(),
        "locality_code": commune, "scheme": "BHXH_BB",
        "participant": {"personal_id": f"0010{80 + n % 20:02d}{n % 1_000_000:06d}"},
    }).encode()


def measure_freshness(settings: Settings, rate: float, seconds: float, log_dir: Path) -> dict:
    settings = settings.with_(api_host="127.0.0.1", api_port=free_port(), rate_limit_per_minute=100_000_000,
                              log_level="WARNING", worker_metrics_port=0)
    prepare_database(settings.database_url)
    load_vietnam_localities(settings.database_url)
    ensure_topics(settings)
    with psycopg.connect(settings.database_url) as conn:
        province, = conn.execute("SELECT code FROM localities WHERE level = 'province' ORDER BY code LIMIT 1").fetchone()
        communes = [c for (c,) in conn.execute(
            "SELECT descendant_code FROM locality_closure c JOIN localities l ON l.code = c.descendant_code"
            " WHERE c.ancestor_code = %s AND l.level = 'commune' ORDER BY 1", (province,))]
        token_store.upsert_agent(conn, "fresh", "Freshness bench agent", Channel.POST_OFFICE, [province])
        _, token = token_store.issue(conn, access.AGENT, "fresh", "bench")
    env = {**os.environ, **settings.to_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    api = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:service.entrypoints.api.gunicorn_conf",
                            "service.entrypoints.api.wsgi:app"], env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=open(log_dir / "api.log", "ab"))
    worker = subprocess.Popen([sys.executable, "-m", "service.entrypoints.cli", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=open(log_dir / "worker.log", "ab"))
    try:
        wait_for_port(settings.api_host, settings.api_port, 60, api)
        return _run(settings, token, communes, rate, seconds)
    finally:
        for p in (worker, api):
            p.terminate()
        for p in (worker, api):
            p.wait(30)


def _warm_up(settings: Settings, token: str, commune: str, timeout_s: float = 90) -> None:
    """One event through API and worker, so the worker has joined its group (Tansu holds a
    JoinGroup for about half the session timeout) before anything is measured."""
    conn = http.client.HTTPConnection(settings.api_host, settings.api_port, timeout=10)
    body = _body(commune, 999_999)
    conn.request("POST", "/v1/events", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    if response.status != 202:
        raise RuntimeError(f"warm-up event answered {response.status}")
    event_id = json.loads(body)["event_id"]
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(settings.database_url, autocommit=True) as db:
        while time.monotonic() < deadline:
            if db.execute("SELECT 1 FROM enrolment_events WHERE event_id = %s", (event_id,)).fetchone():
                return
            time.sleep(0.1)
    raise RuntimeError("the warm-up event never reached the aggregates")


def _run(settings: Settings, token: str, communes: list[str], rate: float, seconds: float) -> dict:
    _warm_up(settings, token, communes[0])
    accepted: dict[uuid.UUID, float] = {}
    visible: dict[uuid.UUID, float] = {}
    failures = []
    lock = threading.Lock()
    senders = 32
    total = int(rate * seconds)
    started = time.perf_counter() + 0.5

    def send(index: int) -> None:
        conn = http.client.HTTPConnection(settings.api_host, settings.api_port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for n in range(index, total, senders):
            due = started + n / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body = _body(communes[n % len(communes)], n)
            conn.request("POST", "/v1/events", body, headers)
            response = conn.getresponse()
            response.read()
            at = time.perf_counter()
            if response.status == 202:
                with lock:
                    accepted[uuid.UUID(json.loads(body)["event_id"])] = at
            else:
                failures.append(response.status)

    def poll(stop: threading.Event) -> None:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            while not stop.is_set() or len(visible) < len(accepted):
                with lock:
                    pending = [e for e in accepted if e not in visible]
                if pending:
                    rows = conn.execute("SELECT event_id FROM enrolment_events WHERE event_id = ANY(%s)",
                                        (pending,)).fetchall()
                    at = time.perf_counter()
                    for (event_id,) in rows:
                        visible[event_id] = at
                if stop.is_set() and time.perf_counter() > deadline:
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    stop = threading.Event()
    poller = threading.Thread(target=poll, args=(stop,))
    poller.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.perf_counter() + 30
    stop.set()
    poller.join()
    delays = sorted(visible[e] - accepted[e] for e in visible)
    sent_s = max(accepted.values()) - started if accepted else 0
    return {
        "accepted": len(accepted), "visible": len(visible), "failures": len(failures),
        "achieved_rate": len(accepted) / sent_s if sent_s else 0.0,
        "p50_s": delays[len(delays) // 2] if delays else None,
        "p99_s": delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else None,
        "max_s": delays[-1] if delays else None,
    }
