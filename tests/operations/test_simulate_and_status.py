"""The simulator against the real API, and `enrolment status` reading what it produced."""
from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner

from service.adapters.kafka.watermarks import high_watermarks
from service.domain.simulation import TrafficMix
from service.entrypoints.cli import main
from service.entrypoints.cli.simulate import create_demo_agents, run_simulation
from service.entrypoints.cli.status import collect_status

pytestmark = pytest.mark.integration


def topic_records(settings) -> int:
    marks = high_watermarks(settings.kafka_bootstrap_servers, [settings.events_topic])
    return sum(marks.values())


def test_simulated_traffic_is_accepted_or_rejected_by_rule_and_lands_on_the_topic(settings, served_api):
    agents = create_demo_agents(settings.database_url, 6, ["01", "79", "82"], seed=3)
    assert {a.agent_id for a in agents} == {f"sim-agent-{i:03d}" for i in range(1, 7)}
    summary = run_simulation(served_api.base_url, agents, rate=0, max_events=600, concurrency=4, seed=11,
                             mix=TrafficMix(invalid=0.15, batch_size=(10, 40)))
    assert summary.events_sent == 600
    rejected = sum(summary.rejected.values())
    assert summary.accepted + rejected == 600, summary.rows()
    # Only the events made invalid on purpose are rejected, each for its rule.
    assert rejected == summary.planned_invalid > 0
    fields = {rule.split(":")[0] for rule in summary.rejected}
    assert fields <= {"locality_code", "participant.personal_id", "contribution", "occurred_at", "note",
                      "contribution.chosen_income_vnd", "contribution.amount_vnd"}, summary.rejected
    assert summary.retried_events > 0 and summary.late_events > 0
    assert summary.status[202] > 0 and summary.status[422] > 0
    # Every accepted event is on the topic once: a retried copy is a duplicate the outbox knows.
    assert topic_records(settings) == summary.accepted - summary.retried_events


def test_status_shows_api_broker_lag_and_dead_letters(settings, served_api, monkeypatch):
    agents = create_demo_agents(settings.database_url, 2, ["01"], seed=1)
    summary = run_simulation(served_api.base_url, agents, rate=0, max_events=120, seed=5,
                             mix=TrafficMix(invalid=0, retry=0))
    status = collect_status(settings, served_api.base_url)
    assert status.api_up and status.api_ready and status.broker_reachable and status.database_reachable
    assert status.total_lag == summary.accepted == 120  # no consumer ran: everything waits
    assert status.dead_letters == 0 and status.last_applied_at is None

    # The consumer's applied offsets (its table in PostgreSQL) reduce the lag partition by partition.
    marks = high_watermarks(settings.kafka_bootstrap_servers, [settings.events_topic])
    (topic, partition), mark = max(marks.items(), key=lambda kv: kv[1])
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES (%s, %s, %s, %s)",
                     (settings.consumer_group, topic, partition, mark))
    status = collect_status(settings, served_api.base_url)
    assert status.lag[partition] == 0 and status.total_lag == 120 - mark

    # A dead letter waiting makes the pipeline unhealthy; the CLI says so in JSON and exit code.
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    producer.send(settings.dead_letter_topic, b"{}").get(10)
    producer.close()
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("API_PORT", served_api.base_url.rsplit(":", 1)[1])
    result = CliRunner().invoke(main, ["status", "--json"])
    assert result.exit_code == 1, result.output
    body = json.loads(result.output)
    assert body["dead_letters_waiting"] == 1 and body["api"]["up"] is True
    assert body["consumer_lag"]["total"] == 120 - mark


def test_status_reports_what_is_down(settings):
    down = settings.with_(kafka_bootstrap_servers="127.0.0.1:1", database_url="postgresql://nobody@127.0.0.1:1/none")
    status = collect_status(down, "http://127.0.0.1:1")
    assert status.api_up is False and status.broker_reachable is False and status.database_reachable is False
    assert not status.healthy and len(status.problems) == 3


def test_simulate_command_creates_agents_and_prints_a_summary(settings, served_api, monkeypatch):
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["simulate", "--api", served_api.base_url, "--count", "80", "--rate", "0",
                                       "--agents", "3", "--provinces", "01,79", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "simulation summary" in result.output and "latency p50 / p95 / p99" in result.output
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM api_tokens WHERE agent_id LIKE 'sim-agent-%%' AND revoked_at IS NULL").fetchone()[0] == 3
    assert topic_records(settings) > 0


def test_simulate_stops_on_sigterm_with_its_summary(settings, served_api):
    """`enrolment run` stops its simulator child with SIGTERM."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, **settings.to_env()}
    child = subprocess.Popen([sys.executable, "-m", "service.entrypoints.cli", "simulate", "--api", served_api.base_url,
                              "--rate", "100", "--agents", "2", "--provinces", "01"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while topic_records(settings) < 50 and time.monotonic() < deadline:
            time.sleep(0.5)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert "simulation summary" in out
    def row(name: str) -> int:
        return int(next(line for line in out.splitlines() if line.strip().startswith(f"│ {name}")).split("│")[2]
                   .replace(",", ""))
    assert row("accepted") - row("retried") == topic_records(settings) >= 50  # retried copies: not published again
