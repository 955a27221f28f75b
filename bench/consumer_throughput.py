"""Consumer throughput: broker -> committed aggregates, beside the ceiling of this machine.

In one run, against an embedded PostgreSQL and Tansu started here (or DATABASE_URL /
KAFKA_BOOTSTRAP_SERVERS):
1. generate N events over 3,321 communes, 5 schemes and 24 months, with 10 % delivered late
   (months after later events of the same participant) and 2 % re-sent (duplicates), and some
   participants known first by SI number and later linked to their personal id;
2. produce them to the events topic (as the API does: same key and value);
3. the ceiling: COPY of the same rows (pseudonymised, as the consumer stores them) into a
   table with a uuid primary key in the same PostgreSQL, before and after step 4 (their mean
   is the baseline of the ratios: the machine's speed drifts);
4. the consumer from offset zero until every offset is stored, i.e. broker -> decode ->
   validate -> apply -> committed aggregates: `--workers N` (default 2, as `enrolment run`
   starts) `enrolment worker` processes of one consumer group, or with `--workers 1` the
   real `Worker` in this process;
5. checks every stored aggregate equals the pure-domain figures (`--no-check` skips it);
6. end-to-end freshness: the real API (gunicorn) and a worker process, single-event POSTs at
   `--rate` events/s for `--freshness-seconds`, time from each 202 to the event being counted
   (bench/e2e_freshness.py).
Prints events/s, the ratio to the ceiling, and the freshness p50/p99.

    make bench-consumer     # or: .venv/bin/python bench/consumer_throughput.py --events 1000000
"""
from __future__ import annotations

import argparse
import random
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import psycopg  # noqa: E402
from kafka import KafkaProducer  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from service.adapters.embedded import EmbeddedKafka, EmbeddedPostgres, free_port  # noqa: E402
from service.contract.topic_record import record_key  # noqa: E402
from service.adapters.kafka.topics import ensure_topics  # noqa: E402
from service.adapters.postgres import migrate  # noqa: E402
from service.adapters.postgres.aggregates import read_aggregates  # noqa: E402
from service.adapters.postgres.staging_rows import EVENT_COLUMNS, rows_for  # noqa: E402
from service.config import Settings  # noqa: E402
from service.contract.events import encode_record  # noqa: E402
from service.domain.aggregation import aggregate  # noqa: E402
from service.domain.identity import Pseudonymiser  # noqa: E402
from service.domain.model import (  # noqa: E402
    Agent, Channel, Contribution, EnrolmentEvent, EnrolmentKind, Participant, Scheme,
)
from service.bootstrap import build_consumer  # noqa: E402
from service.entrypoints.worker_metrics import ConsumerMetrics  # noqa: E402

COMMUNES = [f"{10000 + i * 7:05d}" for i in range(3321)]
SCHEMES = list(Scheme)
START = datetime(2019, 1, 1, 1, 0, tzinfo=UTC)
MONTHS = 24
AGENTS = [Agent(f"agent-{i:03d}", list(Channel)[i % 4]) for i in range(200)]


def generate(n_events: int, seed: int = 7) -> list[EnrolmentEvent]:
    """Participants' life stories in delivery order: mostly on time, 10 % late, 2 % re-sent."""
    rng = random.Random(seed)
    stories: list[tuple[float, EnrolmentEvent]] = []
    person = 0
    while len(stories) < n_events * 0.98:
        person += 1
        pid = f"{rng.randrange(1, 97):03d}{rng.randrange(4)}{rng.randrange(100):02d}{person:06d}"
        sin = f"{person:010d}"
        known_by_sin_first = rng.random() < 0.15
        commune = rng.choice(COMMUNES)
        scheme = rng.choice(SCHEMES)
        agent = rng.choice(AGENTS)
        t = START + timedelta(days=rng.uniform(0, 30 * MONTHS * 0.7))
        end = START + timedelta(days=30 * MONTHS)
        active, linked = False, False
        for _ in range(rng.randint(1, 8)):
            if t >= end:
                break
            if not active:
                kind = EnrolmentKind.REGISTERED
            else:
                kind = rng.choices([EnrolmentKind.RENEWED, EnrolmentKind.LAPSED, EnrolmentKind.WITHDRAWN],
                                   [0.8, 0.15, 0.05])[0]
            if known_by_sin_first and not linked:
                participant = Participant(si_number=sin) if rng.random() < 0.7 else Participant(personal_id=pid, si_number=sin)
                linked = participant.personal_id is not None
            else:
                participant = Participant(personal_id=pid)
            if rng.random() < 0.05:
                commune = rng.choice(COMMUNES)  # moved
            event = EnrolmentEvent(
                event_id=uuid.UUID(int=rng.getrandbits(128), version=4), kind=kind, occurred_at=t,
                locality_code=commune, agent=agent, scheme=scheme, participant=participant,
                contribution=Contribution(3, 990_000) if kind.activates else None,
                campaign="thang-cao-diem" if kind is EnrolmentKind.REGISTERED and rng.random() < 0.1 else None,
            )
            delivered = t.timestamp()
            if rng.random() < 0.10:  # late: synced one to six months after it happened
                delivered += rng.uniform(30, 180) * 86400
            stories.append((delivered, event))
            active = kind.activates
            t += timedelta(days=rng.uniform(20, 120))
    for delivered, event in rng.sample(stories, int(n_events * 0.02)):  # re-sent after a timeout
        stories.append((delivered + rng.uniform(1, 600), event))
    stories.sort(key=lambda s: s[0])
    return [e for _, e in stories[:n_events]]


def produce(settings: Settings, events: list[EnrolmentEvent]) -> float:
    pseudonymiser = Pseudonymiser(settings.pseudonym_key)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                             enable_idempotence=True, linger_ms=5, batch_size=64 * 1024)
    received = datetime.now(UTC)
    started = time.perf_counter()
    for e in events:
        producer.send(settings.events_topic, key=record_key(e, pseudonymiser),
                      value=encode_record(e, received))
    producer.flush(120)
    producer.close()
    return time.perf_counter() - started


def ceiling(url: str, events: list[EnrolmentEvent], pseudonymiser: Pseudonymiser) -> float:
    """Events/s of a bare COPY of the same rows into a table with a uuid primary key."""
    rows, _, _ = rows_for({e.event_id: e for e in events}.values(), pseudonymiser)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ceiling_events (LIKE enrolment_events INCLUDING ALL)")
        conn.execute("TRUNCATE ceiling_events")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY ceiling_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE ceiling_events")
        conn.commit()
    return len(rows) / elapsed


@dataclass(frozen=True)
class Consumed:
    total_s: float  # from the workers' start until every offset is stored
    steady_s: float  # the same from the first committed batch
    lock_held_s: float | None  # the apply lock held, summed over the workers (None: not exposed)


def consume(settings: Settings, n_records: int, workers: int = 1, extra_env: dict[str, str] | None = None,
            caught_up: Callable[[list[subprocess.Popen]], None] | None = None) -> Consumed:
    """Run the real worker until it has stored offsets for every record: in this process, or
    as `workers` separate `enrolment worker` processes of one consumer group (with
    `extra_env`; `caught_up` sees them once every record is applied, before they stop). The
    apply lock's held time comes from the workers' metrics endpoints."""
    ports = [free_port() for _ in range(workers)]
    if workers == 1:
        metrics = ConsumerMetrics()
        metrics.serve(ports[0], addr="127.0.0.1")
        worker = build_consumer(settings.with_(worker_metrics_port=0), metrics)  # metrics served above
        thread = threading.Thread(target=worker.run, daemon=True)
        processes = []
    else:
        env = {**os.environ, **settings.to_env(), "LOG_LEVEL": "WARNING", **(extra_env or {})}
        command = [str(Path(sys.executable).parent / "enrolment"), "worker"]
    started = time.perf_counter()
    if workers == 1:
        thread.start()
    else:
        processes = [subprocess.Popen(command, env={**env, "WORKER_METRICS_PORT": str(port)}, cwd=ROOT)
                     for port in ports]
    first_batch = None
    try:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            while True:
                (done,) = conn.execute("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets").fetchone()
                if done and first_batch is None:
                    first_batch = time.perf_counter()
                if done >= n_records:
                    break
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError("a worker process exited")
                time.sleep(0.05)
        finished = time.perf_counter()
        if caught_up:
            caught_up(processes)
        lock_held = scraped_lock_held(ports, n_records)
    finally:
        if workers == 1:
            worker.request_stop()
            thread.join(60)
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(60)
    return Consumed(finished - started, finished - (first_batch or started), lock_held)


LOCK_HELD = "enrolment_consumer_apply_lock_held_seconds"
COUNTED = ("enrolment_consumer_events_applied", "enrolment_consumer_duplicates_skipped",
           "enrolment_consumer_dead_letters")


def scraped_lock_held(ports: list[int], n_records: int, timeout_s: float = 10) -> float | None:
    """The workers' apply lock held time, summed, once their metrics count every record (a
    batch is counted after its Kafka commit, a moment after its offsets are stored)."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples: dict[str, float] = {}
        for port in ports:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                continue  # not serving (yet)
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    samples[sample.name] = samples.get(sample.name, 0.0) + sample.value
        if sum(samples.get(f"{name}_total", 0.0) for name in COUNTED) >= n_records or time.monotonic() > deadline:
            return samples.get(f"{LOCK_HELD}_total")
        time.sleep(0.1)


def wal_written(url: str) -> tuple[int, int, int]:
    """The server's WAL counters so far: (records, full-page images, bytes)."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal").fetchone()


def check(url: str, events: list[EnrolmentEvent]) -> None:
    """The stored aggregates equal the pure-domain figures for the same set of events."""
    expected = aggregate(events)
    with psycopg.connect(url) as conn:
        got = read_aggregates(conn)
    for table, rows in expected.items():
        status = "equal" if got[table] == rows else "DIFFERENT"
        print(f"  check: {table}: {len(rows):,} rows, {status} to the pure-domain figures")


def freshness(base: Settings, rate: float, seconds: float, tmp: Path) -> None:
    from e2e_freshness import measure_freshness

    suffix = uuid.uuid4().hex[:8]
    with psycopg.connect(base.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "fresh_{suffix}"')
    settings = base.with_(
        database_url=psycopg.conninfo.make_conninfo(base.database_url, dbname=f"fresh_{suffix}"),
        events_topic=f"fresh-events-{suffix}", dead_letter_topic=f"fresh-events-{suffix}.dlq",
        consumer_group=f"fresh-{suffix}", pseudonym_key=secrets.token_hex(16), data_dir=tmp,
    )
    r = measure_freshness(settings, rate, seconds, tmp)
    print(f"freshness API 202 -> counted in the aggregates, {r['accepted']:,} events at {r['achieved_rate']:,.0f}/s "
          f"(asked {rate:,.0f}/s): p50 {r['p50_s'] * 1000:,.0f} ms, p99 {r['p99_s'] * 1000:,.0f} ms, "
          f"max {r['max_s'] * 1000:,.0f} ms; {r['visible']:,} seen, {r['failures']} non-202 answers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=None, help="CONSUMER_MAX_BATCH (default from settings)")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes in one group, as `enrolment run --consumers` (1: the real Worker in this process)")
    parser.add_argument("--no-check", action="store_true", help="skip comparing with the pure-domain figures")
    parser.add_argument("--rate", type=float, default=500, help="freshness: events/s posted to the API")
    parser.add_argument("--freshness-seconds", type=float, default=20, help="freshness: seconds of load (0 = skip)")
    args = parser.parse_args()

    base = Settings.from_env()
    tmp = Path(tempfile.mkdtemp(prefix="bench-consumer-"))
    servers = []
    if not base.database_url:
        pg = EmbeddedPostgres(tmp / "pg").start()
        servers.append(pg)
        base = base.with_(database_url=pg.url)
    if not base.kafka_bootstrap_servers:
        broker = EmbeddedKafka(log_file=tmp / "tansu.log").start()
        servers.append(broker)
        base = base.with_(kafka_bootstrap_servers=broker.bootstrap_servers)
    suffix = uuid.uuid4().hex[:8]
    dbname = f"bench_{suffix}"
    with psycopg.connect(base.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    settings = base.with_(
        database_url=psycopg.conninfo.make_conninfo(base.database_url, dbname=dbname),
        events_topic=f"bench-events-{suffix}", dead_letter_topic=f"bench-events-{suffix}.dlq",
        consumer_group=f"bench-{suffix}", pseudonym_key=secrets.token_hex(16), worker_metrics_port=0,
        **({"consumer_max_batch": args.batch} if args.batch else {}),
    )
    try:
        migrate(settings.database_url)
        ensure_topics(settings)
        print(f"generating {args.events:,} events (3,321 communes, 5 schemes, 24 months, 10 % late, 2 % re-sent) …")
        events = generate(args.events)
        unique = len({e.event_id for e in events})
        produce_s = produce(settings, events)
        print(f"  produced in {produce_s:.1f} s ({len(events) / produce_s:,.0f} records/s), {unique:,} distinct events")

        # The ceiling before and after the consumer, their mean the baseline: a shared machine's
        # speed drifts within minutes (steal), and one measurement beside it can mislead.
        pseudonymiser = Pseudonymiser(settings.pseudonym_key)
        ceiling_before = ceiling(settings.database_url, events, pseudonymiser)
        wal0, steal0 = wal_written(settings.database_url), psutil.cpu_times().steal
        consumed = consume(settings, len(events), args.workers)
        total_s, steady_s = consumed.total_s, consumed.steady_s
        steal = psutil.cpu_times().steal - steal0
        wal_records, wal_fpi, wal_bytes = (b - a for a, b in zip(wal0, wal_written(settings.database_url)))
        ceiling_after = ceiling(settings.database_url, events, pseudonymiser)
        ceiling_rate = (ceiling_before + ceiling_after) / 2
        print(f"ceiling  COPY of the same rows into PostgreSQL: {ceiling_before:,.0f} rows/s before the consumer, "
              f"{ceiling_after:,.0f} after (mean {ceiling_rate:,.0f})")
        rate, steady = len(events) / total_s, len(events) / steady_s
        print(f"consumer broker -> committed aggregates: {len(events):,} records in {total_s:.1f} s = "
              f"{rate:,.0f} events/s ({rate / ceiling_rate:.2f} × ceiling); "
              f"{steady:,.0f} events/s from the first committed batch ({steady / ceiling_rate:.2f} × ceiling)")
        with psycopg.connect(settings.database_url) as conn:
            applied, duplicates = conn.execute(
                "SELECT events_applied, duplicates_skipped FROM aggregation_status").fetchone()
        print(f"  applied {applied:,}, duplicates skipped {duplicates:,} ({args.workers} worker process(es)); "
              f"CPU time taken by the hypervisor (steal) meanwhile: {steal:.1f} s of {os.cpu_count() * total_s:.0f}")
        if consumed.lock_held_s is not None:
            # Held all the time from the first committed batch on: the serialised part of the
            # apply is the bottleneck (docs/aggregation.md, "Partition key and more consumers").
            print(f"  the apply lock was held {consumed.lock_held_s:.1f} s (summed over the workers), against "
                  f"{total_s:.1f} s for the whole run and {steady_s:.1f} s from the first committed batch")
        n = len(events)
        print(f"  WAL (whole server) per event: {wal_records / n:.1f} records, {wal_fpi / n:.2f} full-page images, "
              f"{wal_bytes / n:,.0f} bytes")
        if not args.no_check:
            check(settings.database_url, events)
        if args.freshness_seconds > 0:
            freshness(base, args.rate, args.freshness_seconds, tmp)
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
