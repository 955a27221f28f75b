"""The worker with retractions, against the real broker and PostgreSQL: retractions read before
and after their events, and those it must refuse dead-lettered with the reason, also when the
refusal is known only when the event arrives, batches later."""
import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition

from eventgen import AGENTS, conference, enrolment, personal_id, retraction
from pipeline_helpers import produce, tables, wait_consumed
from service.adapters.kafka.consumer import DeadLetter, read_to_end
from service.adapters.postgres.retractions import NOT_THE_SENDER
from service.contract.events import decode_record
from service.domain.aggregation import aggregate
from test_worker import consume_all, in_process_worker, random_events

pytestmark = pytest.mark.integration


def dead_letters(settings) -> list[DeadLetter]:
    dlq = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    tp = TopicPartition(settings.dead_letter_topic, 0)
    dlq.assign([tp])
    dlq.seek_to_beginning(tp)
    letters = [DeadLetter.from_record(r) for batch in read_to_end(dlq, [tp]) for r in batch]
    dlq.close()
    return letters


def test_retractions_before_and_after_their_events_and_refused_ones_dead_lettered(settings):
    t = datetime(2024, 5, 3, 2, tzinfo=UTC)
    mine = [enrolment("registered", t + timedelta(days=i), pid=personal_id(i), agent=AGENTS[0]) for i in range(4)]
    held = conference(t, attendees=300)
    early = retraction(mine[0], by=AGENTS[0])  # read before its event
    foreign_now = retraction(mine[1], by=AGENTS[1])  # refused when read (its event is there)
    foreign_later = retraction(mine[2], by=AGENTS[1])  # refused only when its event arrives
    after = retraction(held, by=AGENTS[0])  # read after its event
    first = [early, foreign_later, mine[1], held]
    produced = produce(settings, first)
    worker, thread = in_process_worker(settings)
    try:
        wait_consumed(settings, produced)
        produced += produce(settings, [foreign_now, after, mine[0], mine[2], mine[3], early])  # early re-sent
        wait_consumed(settings, produced)
    finally:
        worker.request_stop()
        thread.join(30)
    assert not thread.is_alive()
    assert tables(settings) == aggregate([mine[1], mine[2], mine[3]])
    letters = {decode_record(d.value).event_id: d for d in dead_letters(settings)}
    assert set(letters) == {foreign_now.event_id, foreign_later.event_id}
    for letter in letters.values():
        assert letter.error == NOT_THE_SENDER
        assert letter.source_topic == settings.events_topic and letter.source_offset >= 0


def test_replay_with_retractions_from_the_store_the_topic_and_a_file_equals_live(settings, tmp_path):
    from click.testing import CliRunner

    from service.entrypoints.cli import main

    events = random_events(40, 400, seed=8)
    rng = random.Random(9)
    targets = rng.sample(events, 60)
    retractions = [retraction(e, by=rng.choice([e.agent, e.agent, AGENTS[1]])) for e in targets]
    retractions += [retraction(e, by=e.agent) for e in targets[:10]]  # retracted twice
    everything = events + retractions
    rng.shuffle(everything)
    total = produce(settings, everything)
    consume_all(settings, total)
    live = tables(settings)
    assert live == aggregate(everything) != aggregate(events)
    env, runner = settings.to_env(), CliRunner()
    export = tmp_path / "events.jsonl"
    assert runner.invoke(main, ["replay", "export", str(export)], env=env, catch_exceptions=False).exit_code == 0
    for args in (["replay"], ["replay", "--from-topic"], ["replay", "--from-file", str(export)]):
        with psycopg.connect(settings.database_url) as conn:
            conn.execute("UPDATE agg_flows SET renewals = renewals + 1")  # wrecked: the rebuild restores
        result = runner.invoke(main, args, env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert f"{len(everything):,} events applied" in result.output, result.output
        assert tables(settings) == live, args
