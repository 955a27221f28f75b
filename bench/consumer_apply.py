"""The consumer's apply step alone: `apply_rows` on pre-built rows, no Kafka, no decoding.

Rows come from the consumer benchmark's generator (bench/consumer_throughput.py: 10 % late,
2 % re-sent, identity links) and are applied in CONSUMER_MAX_BATCH-sized batches to a fresh
database: a new one in DATABASE_URL's server if set (which must run on this machine, for the
CPU figures), else an embedded PostgreSQL. Prints events/s, wall time per event, the CPU per
event of the PostgreSQL backend and of this process, the WAL written per event and the rows
per event of each table. With --statements it also times each statement (pipelining off, so
each one's time is its own round trip) to show where the database's time goes.

    .venv/bin/python bench/consumer_apply.py [--events 200000] [--statements]
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402
import psycopg  # noqa: E402

import consumer_throughput  # noqa: E402
from service.adapters.embedded import EmbeddedPostgres  # noqa: E402
from service.adapters.postgres import aggregates, apply_sql, retractions, staging_rows  # noqa: E402
from service.config import Settings  # noqa: E402
from service.domain.identity import Pseudonymiser  # noqa: E402
from service.entrypoints.cli.migrate import prepare_database  # noqa: E402


def time_statements(conn: psycopg.Connection) -> collections.Counter:
    """Seconds per SQL file of the apply (and per COPY target)."""
    spent: collections.Counter = collections.Counter()
    names = {apply_sql.store_new(store, f"staging_{kind}", f"inserted_{kind}"): f"store_new {store}"
             for store, kind in (("enrolment_events", "events"), ("conference_events", "conferences"),
                                 ("event_retractions", "retractions"))}
    names[retractions._judge()] = "retractions/judge"
    names[apply_sql.clear_temp()] = "clear_temp"
    for module in ("aggregates", "retractions"):
        for file in (Path(apply_sql.__file__).parent / "sql" / module).glob("*.sql"):
            try:
                names[apply_sql.statement(module, file.stem)] = f"{module}/{file.stem}"
            except KeyError:  # a file with pieces of its own (rendered above)
                pass
    execute, copy = psycopg.Cursor.execute, aggregates._copy

    def timed_execute(cur, query, params=None, **kw):
        started = time.perf_counter()
        try:
            return execute(cur, query, params, **kw)
        finally:
            spent[names.get(query, str(query)[:40].replace("\n", " "))] += time.perf_counter() - started

    def timed_copy(cur, table, *args, **kw):
        started = time.perf_counter()
        copy(cur, table, *args, **kw)
        spent[f"COPY {table}"] += time.perf_counter() - started

    psycopg.Cursor.execute = timed_execute
    aggregates._copy = timed_copy
    conn.pipeline = contextlib.nullcontext  # one round trip per statement: each timed alone
    return spent


@contextlib.contextmanager
def fresh_database():
    """A new database in DATABASE_URL's server (dropped after), else an embedded PostgreSQL."""
    url = Settings.from_env().database_url
    if url:
        name = f"bench_apply_{secrets.token_hex(4)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield psycopg.conninfo.make_conninfo(url, dbname=name)
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        return
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg").start()
        try:
            yield pg.url
        finally:
            pg.stop(quiet=True, mode="immediate")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--statements", action="store_true", help="time each statement (slower overall)")
    args = ap.parse_args()
    batch = Settings.from_env().consumer_max_batch

    events = consumer_throughput.generate(args.events)
    started = time.perf_counter()
    rows, conferences, _ = staging_rows.rows_for(events, Pseudonymiser(secrets.token_hex(16)))
    print(f"building rows (decoded events -> pseudonymised rows): {1e6 * (time.perf_counter() - started) / len(events):.1f} µs/event")
    with fresh_database() as url:
        prepare_database(url)
        with psycopg.connect(url) as conn:
            spent = time_statements(conn) if args.statements else None
            backend, me = psutil.Process(conn.info.backend_pid), psutil.Process()
            cpu = lambda p: sum(p.cpu_times()[:2])  # noqa: E731
            wal0 = consumer_throughput.wal_written(url)
            pg0, py0, t0 = cpu(backend), cpu(me), time.perf_counter()
            for i in range(0, len(rows), batch):
                aggregates.apply_rows(conn, rows[i:i + batch], conferences if i == 0 else [])
            elapsed = time.perf_counter() - t0
            pg_cpu, py_cpu = cpu(backend) - pg0, cpu(me) - py0
            # A backend reports its statistics at most once a second; the last batch's must count.
            conn.execute("SELECT pg_stat_force_next_flush()")
            conn.commit()
            wal_records, wal_fpi, wal_bytes = (b - a for a, b in zip(wal0, consumer_throughput.wal_written(url)))
            sizes = conn.execute("SELECT relname, n_live_tup FROM pg_stat_user_tables "
                                 "WHERE schemaname = 'public' ORDER BY n_live_tup DESC").fetchall()
    n = len(events)
    print(f"apply: {n / elapsed:,.0f} events/s, {1e6 * elapsed / n:.1f} µs/event wall; CPU per event: "
          f"PostgreSQL {1e6 * pg_cpu / n:.1f} µs, this process {1e6 * py_cpu / n:.1f} µs (batches of {batch:,})")
    print(f"WAL per event: {wal_records / n:.1f} records, {wal_fpi / n:.2f} full-page images, {wal_bytes / n:,.0f} bytes")
    print("rows per event: " + ", ".join(f"{name} {rows / n:.2f}" for name, rows in sizes if rows))
    if spent:
        for name, seconds in spent.most_common(15):
            print(f"  {1e6 * seconds / n:6.1f} µs/event  {name}")


if __name__ == "__main__":
    main()
