"""Through the whole service: agent app -> REST API -> Kafka -> worker -> PostgreSQL figures."""
import random
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from eventgen import AGENTS, enrolment, personal_id, si_number
from pipeline_helpers import tables, wait_consumed
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.bootstrap import build_api
from service.contract.events import record_dict
from service.domain.aggregation import aggregate
from service.domain.model import Channel
from service.bootstrap import build_consumer

pytestmark = pytest.mark.integration

COMMUNES = ["30001", "30002"]


def body(event) -> dict:
    d = record_dict(event, datetime.now(UTC))
    for envelope in ("schema_version", "agent", "received_at"):
        d.pop(envelope)
    return d


def test_posted_events_become_exact_figures(settings):
    with psycopg.connect(settings.database_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO localities (code, name, level, parent_code) VALUES (%s, %s, %s, %s)",
            [("VN", "Việt Nam", "nation", None), ("87", "Tỉnh Đồng Tháp", "province", "VN"),
             *[(c, f"Phường {c}", "commune", "87") for c in COMMUNES]])
        agent = AGENTS[0]
        assert agent.channel is Channel.POST_OFFICE
        token_store.upsert_agent(conn, agent.agent_id, "Bưu điện Sa Đéc", agent.channel, ["87"])
        _, token = token_store.issue(conn, access.AGENT, agent.agent_id, "test")

    rng = random.Random(11)
    start = datetime(2024, 1, 15, 2, tzinfo=UTC)
    events = []
    for n in range(30):
        t = start + timedelta(days=rng.randrange(300))
        events.append(enrolment("registered", t, sin=si_number(n), locality=rng.choice(COMMUNES)))
        events.append(enrolment(rng.choice(["renewed", "lapsed"]), t + timedelta(days=40),
                                pid=personal_id(n), sin=si_number(n) if n % 2 else None,
                                locality=rng.choice(COMMUNES)))
    posts = events + events[:5]  # an agent app retrying after timeouts
    rng.shuffle(posts)

    app = build_api(settings)
    client = app.test_client()
    try:
        for e in posts:
            answer = client.post("/v1/events", json=body(e), headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 202, answer.get_json()
    finally:
        app.extensions["enrolment"].close()

    worker = build_consumer(settings.with_(worker_metrics_port=0))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_consumed(settings, len(events))  # the re-sent copies are known to the outbox: not published again
    finally:
        worker.request_stop()
        thread.join(30)
    assert tables(settings) == aggregate(events)
