"""No record stops the worker: records that fail to decode, that fail only in PostgreSQL, and
event ids reused with other content, on the real PostgreSQL and the real broker."""
import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from eventgen import conference, enrolment, personal_id, si_number
from pipeline_helpers import produce, tables, wait_consumed
from service.adapters.embedded import free_port
from service.adapters.kafka.consumer import DeadLetter, read_to_end
from service.adapters.postgres.aggregates import apply_rows, stored_offsets
from service.adapters.postgres.isolating import apply_isolating
from service.contract.digest import content_digest, digest_key
from service.contract.events import encode_record, record_dict
from service.domain.aggregation import aggregate
from service.domain.identity import Pseudonymiser
from service.domain.model import CONFERENCE, ENROLMENT
from service.adapters.postgres.record_rows import record_row
from service.entrypoints.worker_metrics import ConsumerMetrics
from test_worker import in_process_worker

pytestmark = pytest.mark.integration

DB_POISON = "db-poison"  # a campaign that only the database refuses (the CHECK added below)
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def refuse_campaign_in_database(url: str) -> None:
    """A rule only PostgreSQL knows: stands for any content the contract lets through and a
    column refuses (out of range, unstorable text, a constraint)."""
    with psycopg.connect(url) as conn:
        conn.execute(f"ALTER TABLE enrolment_events ADD CONSTRAINT no_db_poison CHECK (campaign <> '{DB_POISON}')")


def rows(events, key: str):
    pseudonymiser = Pseudonymiser(key)
    out = [record_row(encode_record(e, NOW), pseudonymiser, digest_key(key)) for e in events]
    return [r for t, r in out if t == ENROLMENT], [r for t, r in out if t == CONFERENCE]


def some_events(n: int):
    start = datetime(2024, 1, 5, tzinfo=UTC)
    return [enrolment("registered", start + timedelta(days=i), pid=personal_id(i), money=(1, 100_000))
            for i in range(n)]


def test_a_batch_failing_on_one_records_content_is_split_and_the_rest_applied_once(settings):
    refuse_campaign_in_database(settings.database_url)
    good = some_events(40)
    bad = [enrolment("registered", datetime(2024, 3, 1, tzinfo=UTC), pid=personal_id(90 + i), campaign=DB_POISON)
           for i in range(2)]
    events = good[:13] + bad[:1] + good[13:31] + bad[1:] + good[31:]
    enrolments, conferences = rows(events + [conference(datetime(2024, 2, 2, tzinfo=UTC))], settings.pseudonym_key)
    with psycopg.connect(settings.database_url) as conn:
        result, refused = apply_isolating(conn, enrolments, conferences, offsets={(settings.events_topic, 0): 77},
                                           consumer_group="g")
        assert sorted(r.index for r in refused) == [13, 32]
        assert all(r.list_index == 0 and r.error.startswith("CheckViolation") for r in refused)
        assert result.applied == 40 and result.conferences == 1 and not result.conflicts
        assert stored_offsets(conn, "g") == {(settings.events_topic, 0): 77}
        again, refused_again = apply_isolating(conn, enrolments, conferences)
        assert again.applied == 0 and again.duplicates == 41 and len(refused_again) == 2
    applied = good + [conference(datetime(2024, 2, 2, tzinfo=UTC))]
    got = tables(settings)
    assert got["agg_outreach"] == aggregate(applied)["agg_outreach"]
    assert got["agg_flows"] == aggregate([e for e in applied if e.kind != "conference_held"])["agg_flows"]


def test_an_event_id_with_other_content_is_a_conflict_the_same_content_a_duplicate(settings):
    first = some_events(3)
    other = enrolment("renewed", first[0].occurred_at, pid=personal_id(0), event_id=first[0].event_id)
    twin_a = enrolment("registered", NOW - timedelta(days=3), sin=si_number(7))
    twin_b = enrolment("registered", NOW - timedelta(days=3), sin=si_number(8), event_id=twin_a.event_id)
    with psycopg.connect(settings.database_url) as conn:
        apply_rows(conn, *rows(first, settings.pseudonym_key))
        e, c = rows([first[1], other, twin_a, twin_b], settings.pseudonym_key)
        result = apply_rows(conn, e, c)
    assert result.applied == 1 and result.duplicates == 3
    assert result.conflicts == {(other.event_id, e[1][-1]), (twin_a.event_id, e[3][-1])}
    # the API computes the same digest from the dict it publishes
    assert e[1][-1] == content_digest(record_dict(other, NOW + timedelta(hours=1)), digest_key(settings.pseudonym_key))


def _dead_letters(settings):
    dlq = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    tp = TopicPartition(settings.dead_letter_topic, 0)
    dlq.assign([tp])
    dlq.seek_to_beginning(tp)
    try:
        return [DeadLetter.from_record(r) for batch in read_to_end(dlq, [tp]) for r in batch]
    finally:
        dlq.close()


def test_poison_in_the_middle_of_a_backlog_is_dead_lettered_and_the_worker_goes_on(settings):
    refuse_campaign_in_database(settings.database_url)
    events = some_events(300)
    template = json.loads(encode_record(events[0], NOW))
    poison = {
        "too big": json.dumps({**template, "event_id": "x", "pad": "x" * 1_500_000}).encode(),
        "deep": b"[" * 5000 + b"]" * 5000,
        "deep object": b'{"a":' * 3000 + b"1" + b"}" * 3000,
        "overflow date": json.dumps({**template, "event_id": "9c1e0d46-0000-4000-8000-000000000001",
                                     "occurred_at": "9999-12-31T23:59:59-23:59"}).encode(),
        "database": encode_record(enrolment("registered", NOW, pid=personal_id(999), campaign=DB_POISON), NOW),
        "not utf-8": b'{"event_id": "\xff\xfe"}',
    }
    conflicting = enrolment("lapsed", events[10].occurred_at, pid=personal_id(10), event_id=events[10].event_id)
    produce(settings, events[:150])
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, max_request_size=4 * 1024 * 1024)
    for value in poison.values():
        producer.send(settings.events_topic, key=b"poison", value=value)
    producer.flush(30)
    producer.close()
    total = 150 + len(poison) + produce(settings, events[150:] + [conflicting, events[20]])
    metrics, port = ConsumerMetrics(), free_port()
    metrics.serve(port)
    worker, thread = in_process_worker(settings, metrics)
    try:
        wait_consumed(settings, total, timeout_s=90)
    finally:
        worker.request_stop()
        thread.join(30)
    assert not thread.is_alive()
    assert tables(settings) == aggregate(events)  # every other event exactly once
    letters = _dead_letters(settings)
    assert len(letters) == len(poison) + 1 and {d.value for d in letters} >= set(poison.values())
    by_value = {d.value: d for d in letters}
    assert all(d.error and d.source_topic == settings.events_topic for d in letters)
    assert "depth limit exceeded" in by_value[poison["deep"]].error
    assert "dated 1995-01-01 to 2099-12-31" in by_value[poison["overflow date"]].error  # a contract rule now
    assert "CheckViolation" in by_value[poison["database"]].error
    conflict_letters = [d for d in letters if d.error.startswith("event_id_conflict:")]
    assert len(conflict_letters) == 1 and json.loads(conflict_letters[0].value)["kind"] == "lapsed"
    exposed = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert re.search(r"^enrolment_consumer_event_id_conflicts_total 1\.0$", exposed, re.M)
    assert re.search(rf"^enrolment_consumer_dead_letters_total {len(poison) + 1}\.0$", exposed, re.M)
