"""The consumer worker against the real broker and PostgreSQL."""
import json
import random
import re
import signal
import threading
import urllib.request
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition

from eventgen import conference, enrolment, personal_id, si_number
from pipeline_helpers import consumed, produce, start_worker, stop_worker, tables, wait_consumed
from reference import assert_matches_reference
from service.adapters.embedded import free_port
from service.adapters.kafka.consumer import DeadLetter, read_to_end
from service.adapters.kafka.topics import ensure_topics
from service.contract.events import encode_record
from service.domain.aggregation import aggregate
from service.bootstrap import build_consumer
from service.entrypoints.worker_metrics import ConsumerMetrics

pytestmark = pytest.mark.integration


def random_events(n_people: int, n_events: int, seed: int):
    rng = random.Random(seed)
    start = datetime(2019, 11, 30, 17, 0, tzinfo=UTC)
    events = []
    for _ in range(n_events):
        who = rng.randrange(n_people)
        naming = rng.choice(["pid", "pid", "sin", "both"])
        kind = rng.choice(["registered", "renewed", "renewed", "lapsed", "withdrawn"])
        events.append(enrolment(
            kind, start + timedelta(hours=rng.randrange(24 * 400)),
            pid=personal_id(who) if naming != "sin" else None,
            sin=si_number(who) if naming != "pid" else None,
            scheme=rng.choice(["BHXH_BB", "BHXH_TN", "BHYT_HGD"]),
            locality=rng.choice(["87001", "87002", "87003", "87004"]),
            money=(3, 990_000) if kind in ("registered", "renewed") and rng.random() < 0.5 else None,
            campaign=rng.choice([None, None, "dot-cao-diem"]),
        ))
    events += [conference(start + timedelta(days=rng.randrange(400)), attendees=rng.randrange(1, 500)) for _ in range(10)]
    return events


def in_process_worker(settings, metrics=None):
    worker = build_consumer(settings.with_(worker_metrics_port=0), metrics)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return worker, thread


def consume_all(settings, records: int) -> None:
    """Run a worker in this process until it has consumed `records`, then stop it."""
    worker, thread = in_process_worker(settings)
    try:
        wait_consumed(settings, records)
    finally:
        worker.request_stop()
        thread.join(30)


def test_worker_applies_events_exactly_and_dead_letters_poison(settings):
    events = random_events(40, 400, seed=1)
    resent = random.Random(2).sample(events, 40)
    valid = json.loads(encode_record(enrolment("renewed", datetime(2020, 2, 2, tzinfo=UTC), pid=personal_id(1),
                                               money=(1, 1)), datetime.now(UTC)))
    poison = [b"not json", json.dumps({"schema_version": 1, "kind": "registered"}).encode(),
              json.dumps({**json.loads(b'{"x":1}'), "event_id": "nope"}).encode(),
              # valid under the contract, not storable: must not fail the batch
              json.dumps({**valid, "contribution": {"months": 1, "amount_vnd": 10**20}}).encode(),
              json.dumps({**valid, "agent": {"agent_id": "a\u0000b", "channel": "employer"}}).encode()]
    total = produce(settings, events + resent, poison)
    metrics, port = ConsumerMetrics(), free_port()
    metrics.serve(port, addr="127.0.0.1")
    worker, thread = in_process_worker(settings, metrics)
    scrape = lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()  # noqa: E731
    try:
        wait_consumed(settings, total)
        running = scrape()  # lag per partition exists only while the worker owns partitions
    finally:
        worker.request_stop()
        thread.join(30)
    assert not thread.is_alive()
    # Counters after the stop: the worker counts a batch only after the Kafka commit that
    # follows the database commit wait_consumed saw, so while running the last may be missing.
    exposed = scrape()
    got = tables(settings)
    assert got == aggregate(events)
    assert_matches_reference(got, events)
    assert "enrolment_consumer_dead_letters_total 5.0" in exposed
    assert f"enrolment_consumer_events_applied_total {len(events)}.0" in exposed
    assert "enrolment_consumer_duplicates_skipped_total 40.0" in exposed
    assert "enrolment_consumer_freshness_seconds" in exposed and "enrolment_consumer_lag{" in running
    held = re.search(r"^enrolment_consumer_apply_lock_held_seconds_total (\S+)$", exposed, re.M)
    assert held and float(held.group(1)) > 0
    assert re.search(r"^enrolment_consumer_apply_lock_wait_seconds_total \S+$", exposed, re.M)

    # the dead letters carry the record and headers naming where it came from and why
    dlq = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    tp = TopicPartition(settings.dead_letter_topic, 0)
    dlq.assign([tp])
    dlq.seek_to_beginning(tp)
    letters = [DeadLetter.from_record(r) for batch in read_to_end(dlq, [tp]) for r in batch]
    dlq.close()
    assert sorted(d.value for d in letters) == sorted(poison)
    for d in letters:
        assert d.source_topic == settings.events_topic and d.source_partition >= 0 and d.source_offset >= 0
        assert d.error
    assert any("event_id" in d.error for d in letters)


def test_two_worker_processes_in_one_group_with_a_kill_and_restart(settings):
    """Two consumer processes share the partitions; one is SIGKILLed mid-stream and a new one
    started: the aggregates still equal the reference exactly."""
    events = random_events(300, 6000, seed=3)
    rng = random.Random(4)
    deliveries = events + rng.sample(events, 300)
    rng.shuffle(deliveries)
    small = settings.with_(consumer_max_batch=100)
    total = produce(small, deliveries)
    first, second = start_worker(small), start_worker(small)
    third = None
    try:
        wait_consumed(small, 500, processes=[first, second])
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert consumed(small) < total, "the kill must come mid-stream"
        third = start_worker(small)
        wait_consumed(small, total, timeout_s=120, processes=[second, third])
    finally:
        codes = [stop_worker(p) for p in (second, third) if p is not None]
    assert codes == [0, 0], "SIGTERM must end workers cleanly"
    got = tables(settings)
    assert got == aggregate(events)
    assert_matches_reference(got, events)


def test_postgres_restart_during_consumption(settings, pg_server):
    if pg_server.embedded is None:
        pytest.skip("the test does not control this PostgreSQL server")
    events = random_events(200, 4000, seed=5)
    total = produce(settings, events)
    worker = start_worker(settings.with_(consumer_max_batch=50))
    try:
        wait_consumed(settings, 100, processes=[worker])
        pg_server.embedded.restart()
        assert consumed(settings) < total, "the restart must come mid-stream"
        wait_consumed(settings, total, timeout_s=120, processes=[worker])
    finally:
        assert stop_worker(worker) == 0
    assert tables(settings) == aggregate(events)


def test_replay_from_the_store_the_topic_and_a_file_equals_live(settings, tmp_path):
    from click.testing import CliRunner

    from service.entrypoints.cli import main

    events = random_events(60, 800, seed=6)
    total = produce(settings, events + events[:50], [b"{poison"])
    consume_all(settings, total)
    live = tables(settings)
    env = settings.to_env()
    runner = CliRunner()
    # wreck the live aggregates: the rebuild must restore them exactly
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("UPDATE agg_active_changes SET delta = delta + 1")
    result = runner.invoke(main, ["replay"], env=env, catch_exceptions=False)  # from the event store
    assert result.exit_code == 0, result.output
    assert f"{len(events):,} events applied" in result.output and "0 poison" in result.output
    assert tables(settings) == live
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("UPDATE agg_flows SET renewals = renewals + 1")
    result = runner.invoke(main, ["replay", "--from-topic"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"{len(events):,} events applied" in result.output and "1 poison" in result.output
    assert tables(settings) == live

    export = tmp_path / "events.jsonl"
    result = runner.invoke(main, ["replay", "export", str(export)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(export.read_bytes().splitlines()) == total
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("TRUNCATE agg_flows")
    result = runner.invoke(main, ["replay", "--from-file", str(export)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert tables(settings) == live == aggregate(events)

    # A topic or file that lost records (retention, a memory broker's restart) never shrinks figures.
    half = tmp_path / "half.jsonl"
    half.write_bytes(b"\n".join(export.read_bytes().splitlines()[: total // 2]) + b"\n")
    emptied = {**env, "EVENTS_TOPIC": settings.events_topic + ".recreated"}
    ensure_topics(settings.with_(events_topic=emptied["EVENTS_TOPIC"]))
    for args, environment in ((["replay", "--from-file", str(half)], env), (["replay", "--from-topic"], emptied)):
        result = runner.invoke(main, args, env=environment)
        assert result.exit_code != 0 and "would lose" in result.output, (args, result.output)
        assert tables(settings) == live
    result = runner.invoke(main, ["replay"], env=emptied, catch_exceptions=False)  # the store still has them all
    assert result.exit_code == 0 and tables(settings) == live
    with psycopg.connect(settings.database_url) as conn:
        leftovers = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'replay_%'").fetchone()
    assert leftovers == (0,)


def test_dead_letters_list_export_fix_and_replay(settings, tmp_path):
    from click.testing import CliRunner

    from service.contract.events import encode_record
    from service.entrypoints.cli import main

    good = random_events(5, 20, seed=8)
    fixable = enrolment("registered", datetime(2020, 5, 5, tzinfo=UTC), pid=personal_id(99), money=(1, 330_000))
    broken = encode_record(fixable, datetime.now(UTC)).replace(b'"registered"', b'"registred"')
    total = produce(settings, good, [broken])
    worker, thread = in_process_worker(settings)
    runner, env = CliRunner(), settings.to_env()
    try:
        wait_consumed(settings, total)
        listed = runner.invoke(main, ["deadletters", "list"], env=env, catch_exceptions=False)
        assert "1 dead letters" in listed.output and "kind" in listed.output
        export = tmp_path / "dead.jsonl"
        assert runner.invoke(main, ["deadletters", "export", str(export)], env=env).exit_code == 0
        export.write_text(export.read_text().replace("registred", "registered"))
        replayed = runner.invoke(main, ["deadletters", "replay", "--from-file", str(export)], env=env,
                                 catch_exceptions=False)
        assert "re-published 1 records" in replayed.output
        wait_consumed(settings, total + 1)
    finally:
        worker.request_stop()
        thread.join(30)
    assert tables(settings) == aggregate(good + [fixable])


@pytest.mark.parametrize("source", [[], ["--from-topic"]], ids=["store", "topic"])
def test_replay_while_the_live_worker_keeps_consuming(settings, source):
    """The swap takes the apply lock and catches up to the live worker's offsets; records the
    rebuild read beyond them are deduplicated later: after everything is consumed, the
    tables equal the figures of every event."""
    from click.testing import CliRunner

    from service.entrypoints.cli import main

    events = random_events(100, 3000, seed=9)
    first = produce(settings, events[:1500])
    worker, thread = in_process_worker(settings.with_(consumer_max_batch=100))
    feeder = threading.Thread(target=produce, args=(settings, events[1500:]))
    try:
        wait_consumed(settings, 300)
        feeder.start()
        result = CliRunner().invoke(main, ["replay", *source], env=settings.to_env(), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        feeder.join(60)
        wait_consumed(settings, len(events), timeout_s=120)
    finally:
        worker.request_stop()
        thread.join(30)
    assert first == 1500
    assert tables(settings) == aggregate(events)


def test_consumer_warns_only_of_io_stalls_that_threaten_the_group_session(settings):
    from service.adapters.kafka.consumer import IO_STALL_WARNING_S, make_consumer

    consumer = make_consumer(settings, group_id=None)
    try:
        # kafka-python's default is 0.1 s: ~20 warnings a million events under a backlog
        assert consumer._client._net.config["slow_task_threshold_secs"] == IO_STALL_WARNING_S == 1.0
    finally:
        consumer.close()
