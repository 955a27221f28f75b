"""Issue 15: every reporting row is a function of the set of accepted events.

One random event set (every lifecycle kind, five schemes, six communes in two provinces, four
agents of four channels, 24 months, moves, links of SI numbers to personal ids, conferences,
campaigns) goes through the whole pipeline — the Flask API, the real broker, the real worker,
the real PostgreSQL — twice, into two databases:
- A: in time order, one event per request, the last tenth held back and synced late, while the
  worker runs (small batches);
- B: shuffled, a tenth re-sent, in random batches of 1-60, plus records published twice to the
  topic (as a relay re-publishing after a lost acknowledgement); the worker starts afterwards
  (large batches).
Then every view of the `reporting` schema (from the catalog), every row, every period type,
must be the same in both, and no row may have nothing in it."""
from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import psycopg
import pytest

from reporting_tree import COMMUNES, PROVINCES, load_tree
from eventgen import ALL_AGENTS, random_history
from pipeline_helpers import produce, tables, wait_consumed
from reporting_views import assert_same_views, rows_with_nothing, snapshot
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.bootstrap import build_api
from service.contract.events import record_dict
from service.domain.aggregation import aggregate
from service.bootstrap import build_consumer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DENOMINATORS = [("87001", 2024, "labour_force", 4_000), ("87002", 2023, "population", 9_000),
                ("87", 2024, "in_scope_bhxh_bb", 20_000), ("30003", 2024, "population", 7_000)]
TARGETS = [("87", 2024, "BHXH_BB", "active", 10, None, None), ("VN", 2024, "BHXH_TN", "new", 15, None, None),
           ("87001", 2024, "conferences", "held", 3, None, None), ("87001", 2024, "BHXH", "active", None, 2.5, "labour_force")]


def body(event) -> dict:
    d = record_dict(event, datetime.now(UTC))
    for envelope in ("schema_version", "agent", "received_at"):
        d.pop(envelope)
    return d


def prepare(url: str) -> dict[str, str]:
    """The tree, reference data and one token per agent: {agent_id: token}."""
    load_tree(url)
    tokens = {}
    with psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO denominators (locality_code, year, measure, value) VALUES (%s, %s, %s, %s)",
                                  DENOMINATORS)
        conn.cursor().executemany(
            "INSERT INTO targets (locality_code, year, subject, basis, target_count, target_rate_pct, denominator_measure)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)", TARGETS)
        for agent in ALL_AGENTS:
            token_store.upsert_agent(conn, agent.agent_id, agent.agent_id, agent.channel, PROVINCES)
            tokens[agent.agent_id] = token_store.issue(conn, access.AGENT, agent.agent_id, "test")[1]
    return tokens


def post_one_by_one(client, tokens, events) -> None:
    for e in events:
        answer = client.post("/v1/events", json=body(e), headers={"Authorization": f"Bearer {tokens[e.agent.agent_id]}"})
        assert answer.status_code == 202, answer.get_json()


def post_in_batches(client, tokens, events, rng) -> None:
    by_agent: dict[str, list] = {}
    for e in events:
        by_agent.setdefault(e.agent.agent_id, []).append(e)
    sends = []
    for agent_id, own in by_agent.items():  # an agent app syncs its own queue
        i = 0
        while i < len(own):
            size = rng.randint(1, 60)
            sends.append((agent_id, own[i:i + size]))
            i += size
    rng.shuffle(sends)
    for agent_id, batch in sends:
        answer = client.post("/v1/events/batch", json={"events": [body(e) for e in batch]},
                             headers={"Authorization": f"Bearer {tokens[agent_id]}"})
        assert answer.status_code == 202, answer.get_json()


def run_worker(settings, records: int, *, while_posting=None) -> None:
    worker = build_consumer(settings.with_(worker_metrics_port=0))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        if while_posting:
            while_posting()
        wait_consumed(settings, records, timeout_s=120)
    finally:
        worker.request_stop()
        thread.join(30)
    assert not thread.is_alive()


def test_every_reporting_view_is_a_function_of_the_set_of_events(settings, other_settings):
    rng = random.Random(15)
    events = random_history(rng, people=70, communes=COMMUNES, start=datetime(2023, 1, 1, 2, tzinfo=UTC),
                            months=24, conferences=12)
    kinds = {str(e.kind) for e in events}
    assert kinds == {"registered", "renewed", "lapsed", "withdrawn", "conference_held"}, kinds

    # A: time order, one by one, the last tenth late; the worker applies as they come.
    in_time = sorted(events, key=lambda e: (e.occurred_at, str(e.event_id)))
    late = set(rng.sample(range(len(in_time)), k=len(in_time) // 10))
    order_a = [e for i, e in enumerate(in_time) if i not in late] + [in_time[i] for i in sorted(late)]
    tokens = prepare(settings.database_url)
    app = build_api(settings)
    try:
        run_worker(settings, len(events), while_posting=lambda: post_one_by_one(app.test_client(), tokens, order_a))
    finally:
        app.extensions["enrolment"].close()

    # B: shuffled, a tenth re-sent, random batches; some records twice on the topic; then the worker.
    order_b = events + rng.sample(events, k=len(events) // 10)
    rng.shuffle(order_b)
    tokens = prepare(other_settings.database_url)
    app = build_api(other_settings)
    try:
        post_in_batches(app.test_client(), tokens, order_b, rng)
    finally:
        app.extensions["enrolment"].close()
    twice = produce(other_settings, rng.sample(events, k=len(events) // 20))
    run_worker(other_settings, len(events) + twice)

    # Every event counted once in both (the tables as the pure domain computes them) ...
    assert tables(settings) == tables(other_settings) == aggregate(events)
    # ... and every view, every row, the same; none with nothing in it.
    a, b = snapshot(settings.database_url), snapshot(other_settings.database_url)
    assert_same_views(a, b)
    assert {v: n for v, n in rows_with_nothing(settings.database_url).items() if n} == {}
    # The set exercises every fact view, in every period type.
    for view in ("stock", "flows", "growth", "withdrawals", "coverage", "outreach", "flows_by_agent",
                 "flows_by_channel", "active_by_sex_age"):
        assert {row[0] for row in a[view]} == {"month", "quarter", "year", "ytd"}, view
    assert a["plan_attainment"], "plan_attainment"
