"""Ingestion API throughput: a bare Flask endpoint (the ceiling) and the real endpoints, in one
run, under the same gunicorn configuration (gunicorn_conf: WEB_WORKERS gevent workers,
reuse_port), against an embedded PostgreSQL and Tansu started here.

Load comes from a separate process on loopback: keep-alive connections driven by one
selector loop, pre-built requests, bounded in count and time. Prints requests/s, events/s,
p50/p99 latency and each figure's ratio to the bare endpoint measured in the same run (the
bare endpoint runs first and last; the ceiling is their mean).

    make bench-api          # or: .venv/bin/python bench/api_throughput.py [--seconds 5]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import psycopg  # noqa: E402

from service.adapters.embedded import EmbeddedKafka, EmbeddedPostgres, free_port, wait_for_port  # noqa: E402
from service.adapters.kafka.topics import ensure_topics  # noqa: E402
from service.domain import access  # noqa: E402
from service.adapters.postgres import tokens as token_store  # noqa: E402
from service.adapters.postgres.reference import load_vietnam_localities  # noqa: E402
from service.config import Settings  # noqa: E402
from service.domain.model import Channel  # noqa: E402
from service.entrypoints.cli.migrate import prepare_database  # noqa: E402

# Agents' apps in many communes post at once: each open connection is one app waiting for its
# answer. The ceiling and the endpoints are driven with the same number.
DEFAULT_CONNECTIONS = 256

BARE_APP = '''
from flask import Flask, Response, request
import json
app = Flask("bare")
@app.post("/bare")
def bare():
    body = json.loads(request.get_data())
    return Response(json.dumps({"event_id": body.get("event_id"), "status": "accepted"}), 202, mimetype="application/json")
'''


def event(commune: str, n: int) -> dict:
    # personal ids of men born 1980-1999 registered in Hà Nội (001), all distinct
    pid = f"0010{80 + n % 20:02d}{n % 1_000_000:06d}"
    return {
        "event_id": str(uuid.uuid4()), "kind": "registered", "occurred_at": "2025-08-12T09:30:00+07:00",
        "locality_code": commune, "scheme": "BHXH_TN",
        "participant": {"personal_id": pid, "sex": "male", "birth_year": 1980 + n % 20},
        "contribution": {"months": 3, "amount_vnd": 1_122_000, "chosen_income_vnd": 2_000_000, "support_group": "other"},
        "campaign": "Tháng cao điểm 2025",
    }


def http_post(path: str, body: bytes, token: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


# ---- the load generator (runs in its own process) ----

def _drive(port: int, requests: list[bytes], connections: int, seconds: float, max_requests: int,
           warmup_s: float, out: mp.Queue) -> None:
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(connections):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        conns.append({"sock": s, "buf": b"", "sent_at": 0.0, "next": i})
        sel.register(s, selectors.EVENT_READ, conns[-1])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    measure_from = start + warmup_s
    end = measure_from + seconds
    done = 0
    answered = 0  # warm-up included

    def send(c):
        c["sent_at"] = time.perf_counter()
        c["sock"].sendall(requests[c["next"] % len(requests)])
        c["next"] += connections

    for c in conns:
        send(c)
    measured_start = None
    while True:
        now = time.perf_counter()
        if now >= end or done >= max_requests:
            break
        for key, _ in sel.select(timeout=1.0):
            c = key.data
            chunk = c["sock"].recv(1 << 20)
            if not chunk:
                raise RuntimeError("server closed a connection")
            c["buf"] += chunk
            head_end = c["buf"].find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = c["buf"][:head_end].decode("latin-1")
            length = next(int(line.split(":", 1)[1]) for line in head.split("\r\n")
                          if line.lower().startswith("content-length:"))
            if len(c["buf"]) < head_end + 4 + length:
                continue
            c["buf"] = c["buf"][head_end + 4 + length:]
            answered += 1
            t = time.perf_counter()
            if t >= measure_from:
                measured_start = measured_start or t
                status = int(head[9:12])
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(t - c["sent_at"])
                done += 1
            if t < end and done < max_requests:
                send(c)
    elapsed = time.perf_counter() - (measured_start or measure_from)
    for c in conns:
        c["sock"].close()
    out.put({"count": done, "elapsed": elapsed, "latencies": latencies, "statuses": statuses,
             "answered": answered})


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        t = p.cpu_times()
        total += t.user + t.system
    return total


def run_load(port: int, requests: list[bytes], connections: int, seconds: float, max_requests: int,
             servers: dict[str, list[psutil.Process]], warmup_s: float = 1.0) -> dict:
    """Drive the load from a separate process (after a warm-up run); also the CPU seconds each
    server process group used meanwhile (divided later by every request answered)."""
    ctx = mp.get_context("spawn")

    def drive(seconds: float, warmup_s: float) -> dict:
        q = ctx.Queue()
        p = ctx.Process(target=_drive, args=(port, requests, connections, seconds, max_requests, warmup_s, q))
        p.start()
        out = q.get(timeout=seconds + warmup_s + 120)
        p.join(timeout=30)
        return out

    drive(warmup_s, 0.0)  # workers finish booting and warm their caches outside the CPU account
    before = {name: cpu_seconds(procs) for name, procs in servers.items()}
    result = drive(seconds, 0.5)
    result["cpu_s"] = {name: cpu_seconds(procs) - before[name] for name, procs in servers.items()}
    return result


# ---- servers ----

def start_gunicorn(settings: Settings, app_spec: str, extra_path: Path | None, log: Path) -> subprocess.Popen:
    env = {**os.environ, **settings.to_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if extra_path:
        env["PYTHONPATH"] = f"{extra_path}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:service.entrypoints.api.gunicorn_conf",
                             app_spec], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    wait_for_port(settings.api_host, settings.api_port, 60, proc)
    deadline = time.monotonic() + 60  # every worker forked, so the CPU account sees them all
    while len(psutil.Process(proc.pid).children()) < settings.web_workers:
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not start all its workers")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def summarise(name: str, r: dict, events_per_request: int) -> dict:
    lat = sorted(r["latencies"])
    rps = r["count"] / r["elapsed"]
    answered = r["answered"]
    return {"name": name, "requests": r["count"], "req_s": rps, "events_s": rps * events_per_request,
            "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "api_us": 1e6 * r["cpu_s"]["api"] / answered, "broker_us": 1e6 * r["cpu_s"]["broker"] / answered,
            "statuses": r["statuses"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per scenario")
    ap.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS,
                    help="open connections for the bare and single-event scenarios (default %(default)s)")
    ap.add_argument("--only", choices=["single", "batch"], help="skip the other endpoint's scenarios")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        tmp_path = Path(tmp)
        pg = EmbeddedPostgres(tmp_path / "pg").start()
        kafka = EmbeddedKafka(log_file=tmp_path / "tansu.log").start()
        try:
            base = Settings.from_env()
            settings = base.with_(
                database_url=pg.url, kafka_bootstrap_servers=kafka.bootstrap_servers, data_dir=tmp_path,
                pseudonym_key=secrets.token_hex(16), api_host="127.0.0.1", api_port=free_port(),
                rate_limit_per_minute=100_000_000, log_level="WARNING",
            )
            prepare_database(pg.url)
            load_vietnam_localities(pg.url)
            ensure_topics(settings)
            with psycopg.connect(pg.url) as conn:
                province, commune = conn.execute(
                    "SELECT parent_code, code FROM localities WHERE level = 'commune' AND parent_code = '01' LIMIT 1"
                ).fetchone()
                token_store.upsert_agent(conn, "bench", "Bench agent", Channel.POST_OFFICE, [province])
                _, token = token_store.issue(conn, access.AGENT, "bench", "bench")
            print(f"workers={settings.web_workers} connections={args.connections} "
                  f"seconds={args.seconds} cpus={os.cpu_count()}", flush=True)

            singles = [http_post("/v1/events", json.dumps(event(commune, n)).encode(), token) for n in range(4000)]
            bare_reqs = [http_post("/bare", json.dumps(event(commune, n)).encode(), token) for n in range(4000)]

            def batches(size: int, count: int) -> list[bytes]:
                return [http_post("/v1/events/batch",
                                  json.dumps({"events": [event(commune, b * size + i) for i in range(size)]}).encode(),
                                  token) for b in range(count)]

            def servers(gunicorn: subprocess.Popen) -> dict[str, list[psutil.Process]]:
                workers = psutil.Process(gunicorn.pid).children()
                return {"api": [psutil.Process(gunicorn.pid), *workers], "broker": [psutil.Process(kafka.process.pid)]}

            bare_dir = tmp_path / "bareapp"
            bare_dir.mkdir()
            (bare_dir / "bare_app.py").write_text(BARE_APP)
            log = tmp_path / "gunicorn.log"
            results = []

            def bare_round(label: str) -> None:
                proc = start_gunicorn(settings, "bare_app:app", bare_dir, log)
                try:
                    results.append(summarise(label, run_load(settings.api_port, bare_reqs, args.connections,
                                                             args.seconds, 200_000, servers(proc)), 1))
                finally:
                    stop(proc)
                print(f"  {label} done", flush=True)

            bare_round("bare Flask (ceiling, before)")
            proc = start_gunicorn(settings, "service.entrypoints.api.wsgi:app", None, log)
            try:
                scenarios = [("single event  POST /v1/events", lambda: singles, 1, args.connections),
                             ("batch of 1", lambda: batches(1, 4000), 1, args.connections),
                             # Few connections suffice to keep both cores busy with big batches.
                             ("batch of 100", lambda: batches(100, 200), 100, 2 * settings.web_workers * 2),
                             ("batch of 1000", lambda: batches(1000, 24), 1000, 2 * settings.web_workers)]
                if args.only:
                    scenarios = [sc for sc in scenarios if sc[0].startswith(args.only)]
                for name, make_requests, per, conns in scenarios:
                    reqs = make_requests()
                    results.append(summarise(name, run_load(settings.api_port, reqs, conns, args.seconds, 200_000,
                                                            servers(proc)), per))
                    print(f"  {name} done", flush=True)
            finally:
                stop(proc)
            bare_round("bare Flask (ceiling, after)")
        finally:
            kafka.stop()
            pg.stop(quiet=True, mode="immediate")

    ceiling = statistics.mean(r["req_s"] for r in results if r["name"].startswith("bare"))
    print()
    print(f"{'scenario':34} {'req/s':>9} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} "
          f"{'API cpu us/req':>15} {'broker us/req':>14}  statuses")
    for r in results:
        print(f"{r['name']:34} {r['req_s']:9.0f} {r['events_s']:10.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['req_s'] / ceiling:8.0%} {r['api_us']:15.0f} {r['broker_us']:14.0f}  {r['statuses']}")
    print()
    for r in results:
        if r["name"].startswith("single"):
            print(f"single events: {r['req_s'] / ceiling:.0%} of the bare endpoint (target >= 50 %)")
    batch_rates = [r["events_s"] for r in results if r["name"].startswith("batch")]
    if batch_rates:
        print(f"batch endpoint: {max(batch_rates):,.0f} events/s at best (target >= 10,000)")


if __name__ == "__main__":
    main()
