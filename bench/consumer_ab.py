"""Compare versions of the consumer on one machine whose speed drifts: interleaved runs on one
produced topic, with CPU per event beside the rate.

The machines here are shared: their speed changes by a third within minutes (steal time), so
two benchmark runs made one after the other compare the machine, not the code. This script
produces N events once (bench/consumer_throughput.py's generator), then consumes them R times
with each version, alternating the order every round, each time into a fresh database with a
new consumer group and 2 `enrolment worker` processes. A version is a directory holding a
checkout's `service/` package, imported by the workers through PYTHONPATH, e.g.

    git worktree add /tmp/before HEAD~1      # or: git archive HEAD~1 service seeds | tar -x -C /tmp/before
    .venv/bin/python bench/consumer_ab.py --events 300000 --rounds 4 /tmp/before .

Per run it prints events/s (worker start → every offset stored), the CPU seconds per event of
the worker processes and of PostgreSQL (time stolen by the hypervisor is in neither), and the
steal during the run; then each version's medians as ratios to the first version's. The first
round checks every version's aggregates against the pure-domain figures. A discarded warm-up
run comes first (`--no-warm-up` skips it): the first consume after producing was 5–11 %
slower whatever the version. PostgreSQL and Tansu
are embedded, started here (CPU accounting needs the server on this machine).
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402
import psycopg  # noqa: E402

import consumer_throughput  # noqa: E402
from service.adapters.embedded import EmbeddedKafka, EmbeddedPostgres  # noqa: E402
from service.adapters.kafka.topics import ensure_topics  # noqa: E402
from service.config import Settings  # noqa: E402

ENROLMENT = Path(sys.executable).parent / "enrolment"


def postgres_cpu_seconds() -> float:
    total = 0.0
    for p in psutil.process_iter(["name"]):
        if "postgres" in (p.info["name"] or ""):
            try:
                total += sum(p.cpu_times()[:2])
            except psutil.Error:
                pass  # a backend that ended meanwhile
    return total


def consume(settings: Settings, version: Path, n_records: int) -> dict[str, float]:
    env = {"PYTHONPATH": str(version)}
    subprocess.run([ENROLMENT, "migrate"], env={**os.environ, **settings.to_env(), **env}, check=True,
                   capture_output=True)
    cpu: dict[str, float] = {}

    def caught_up(workers: list[subprocess.Popen]) -> None:
        # Before the workers stop: their backends' CPU is gone with them.
        cpu["workers"] = sum(sum(psutil.Process(w.pid).cpu_times()[:2]) for w in workers)
        cpu["postgres"] = postgres_cpu_seconds() - pg0

    pg0, steal0 = postgres_cpu_seconds(), psutil.cpu_times().steal
    wall = consumer_throughput.consume(settings, n_records, workers=2, extra_env=env, caught_up=caught_up).total_s
    return {"rate": n_records / wall, "worker_us": 1e6 * cpu["workers"] / n_records,
            "postgres_us": 1e6 * cpu["postgres"] / n_records, "steal_s": psutil.cpu_times().steal - steal0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("versions", nargs="+", type=Path, help="directories holding a checkout's service/ package")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=True,
                        help="first a discarded run of the first version: the first consume after producing "
                             "was 5-11 %% slower, whatever the version")
    args = parser.parse_args()
    versions = [v.resolve() for v in args.versions]
    for v in versions:
        if not (v / "service" / "__init__.py").exists():
            parser.error(f"{v} holds no service/ package")

    tmp = Path(tempfile.mkdtemp(prefix="bench-consumer-ab-"))
    pg = EmbeddedPostgres(tmp / "pg").start()
    broker = EmbeddedKafka(log_file=tmp / "tansu.log").start()
    base = Settings.from_env().with_(
        database_url=pg.url, kafka_bootstrap_servers=broker.bootstrap_servers, events_topic="ab-events",
        dead_letter_topic="ab-events.dlq", pseudonym_key=secrets.token_hex(16), worker_metrics_port=0)
    try:
        ensure_topics(base)
        events = consumer_throughput.generate(args.events)
        consumer_throughput.produce(base, events)
        runs: dict[Path, list[dict[str, float]]] = {v: [] for v in versions}

        def run_once(version: Path, label: str, check: bool) -> dict[str, float]:
            dbname = f"ab_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(pg.url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            settings = base.with_(database_url=psycopg.conninfo.make_conninfo(pg.url, dbname=dbname),
                                  consumer_group=f"ab-{dbname}")
            run = consume(settings, version, len(events))
            print(f"{label} {version}: {run['rate']:,.0f} events/s; CPU per event: workers "
                  f"{run['worker_us']:.1f} µs, PostgreSQL {run['postgres_us']:.1f} µs; steal {run['steal_s']:.1f} s",
                  flush=True)
            if check:
                consumer_throughput.check(settings.database_url, events)
            with psycopg.connect(pg.url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
                conn.execute("CHECKPOINT")  # each run starts without the last one's dirty pages
            return run

        if args.warm_up:
            run_once(versions[0], "warm-up (not counted)", check=False)
        for round_ in range(args.rounds):
            for version in versions if round_ % 2 == 0 else versions[::-1]:
                runs[version].append(run_once(version, f"round {round_}", check=round_ == 0))
        medians = {v: {k: statistics.median(r[k] for r in rs) for k in ("rate", "worker_us", "postgres_us")}
                   for v, rs in runs.items()}
        first = medians[versions[0]]
        for v, m in medians.items():
            print(f"median {v}: {m['rate']:,.0f} events/s ({m['rate'] / first['rate']:.2f} ×); CPU per event: "
                  f"workers {m['worker_us']:.1f} µs ({m['worker_us'] / first['worker_us']:.2f} ×), "
                  f"PostgreSQL {m['postgres_us']:.1f} µs ({m['postgres_us'] / first['postgres_us']:.2f} ×)")
    finally:
        broker.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
