"""Loading the demo (service_layer/demo.py) on fake reference loaders, token store and API
clients: no server."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.domain.demo import AGENTS, DemoEvent
from service.domain.reference_data import LoadReport
from service.service_layer.demo import (ATTEMPTS, DemoRefused, load_demo, load_demo_reference, post_events,
                                        send_until_answered)
from service.service_layer.simulation import RequestOutcome
from service.domain.access import AGENT
from service.service_layer.tokens import UnknownCodes

SEEDS = Path("/seeds/demo")


class FakeReference:
    def __init__(self):
        self.loaded: list = []

    def defaults(self, *, dry_run, progress):
        self.loaded.append(("defaults", dry_run))
        return {"localities": LoadReport(), "targets (Resolution 28-NQ/TW)": LoadReport()}

    def denominators(self, path, *, dry_run, progress, within):
        self.loaded.append(("denominators", path, dry_run, tuple(within)))
        return LoadReport()

    def targets(self, path, *, dry_run, progress, within):
        self.loaded.append(("targets", path, dry_run, tuple(within)))
        return LoadReport()


class FakeTokens:
    """A token store whose provinces are the demo agents' (or `known`); `entered` counts the
    units of work the use case opened."""

    def __init__(self, known=None):
        self.known = set(known if known is not None else (p for a in AGENTS for p in a.provinces))
        self.agents: dict = {}
        self.issued: dict[int, tuple] = {}
        self.revoked: list[int] = []
        self.entered = 0

    @contextmanager
    def unit_of_work(self):
        self.entered += 1
        yield self

    def unknown_provinces(self, codes):
        return [c for c in codes if c not in self.known]

    def upsert_agent(self, agent_id, name, channel, provinces):
        self.agents[agent_id] = (channel, tuple(provinces))

    def issue(self, scope, agent_id, label="", localities=(), min_cell_size=None):
        token_id = len(self.issued) + 1
        self.issued[token_id] = (scope, agent_id, label)
        return token_id, f"token-{agent_id}"

    def revoke(self, *, token_id=None, token=None, agent_id=None):
        self.revoked.append(token_id)
        return 1


class ScriptedClient:
    """Answers each request with the next status of `statuses` (then 202), accepting every
    event on 202; notes what it was sent."""

    def __init__(self, statuses=(), sent=None, closed=None, lock=None):
        self.statuses = list(statuses)
        self.sent = [] if sent is None else sent
        self.closed = [] if closed is None else closed
        self.lock = lock or threading.Lock()

    def send(self, token, events, batch):
        with self.lock:
            self.sent.append((token, len(events), batch))
            status = self.statuses.pop(0) if self.statuses else 202
        if status == 202:
            return RequestOutcome(status, 0.001, accepted=len(events))
        return RequestOutcome(status, 0.001, error=f"status {status}")

    def close(self):
        self.closed.append(self)


def events(per_agent: dict[str, int]) -> list[DemoEvent]:
    return [DemoEvent(agent, {"event_id": f"{agent}-{i}"}) for agent, n in per_agent.items() for i in range(n)]


def test_the_reference_is_the_defaults_then_the_demo_files():
    reference = FakeReference()
    reports = load_demo_reference(reference, SEEDS)
    assert list(reports) == ["localities", "targets (Resolution 28-NQ/TW)", "demo denominators", "demo targets"]
    assert reference.loaded == [("defaults", False), ("denominators", SEEDS / "denominators.csv", False, ()),
                                ("targets", SEEDS / "targets.csv", False, ())]


def test_a_retryable_status_is_sent_again_with_growing_pauses():
    pauses: list[float] = []
    client = ScriptedClient([503, 429, 0, 502])
    outcome = send_until_answered(client, "t", [{"event_id": "e"}], sleep=pauses.append)
    assert outcome.status == 202 and outcome.accepted == 1
    assert len(client.sent) == 5 and pauses == [0.25, 0.5, 1.0, 2.0]


def test_a_status_that_stays_retryable_gives_up_after_the_attempts():
    pauses: list[float] = []
    client = ScriptedClient([503] * ATTEMPTS)
    with pytest.raises(DemoRefused, match="503"):
        send_until_answered(client, "t", [{"event_id": "e"}], sleep=pauses.append)
    assert len(client.sent) == ATTEMPTS and max(pauses) == 4.0


def test_events_go_in_batches_per_agent_each_request_through_its_own_client():
    sent: list = []
    closed: list = []
    clients: list = []
    lock = threading.Lock()

    def new_client():
        clients.append(ScriptedClient(sent=sent, closed=closed, lock=lock))
        return clients[-1]

    progressed: list[int] = []
    report = post_events(new_client, {"a": "ta", "b": "tb"}, events({"a": 5, "b": 2}), batch_size=2,
                         progress=progressed.append, sleep=lambda s: None)
    assert (report.events, report.accepted, report.rejected) == (7, 7, [])
    assert sorted(sent) == sorted([("ta", 2, True), ("ta", 2, True), ("ta", 1, True), ("tb", 2, True)])
    assert sorted(progressed) == [1, 2, 2, 2]
    assert len(clients) == 4 and sorted(map(id, closed)) == sorted(map(id, clients))


def test_a_refused_token_stops_the_load():
    with pytest.raises(DemoRefused, match="demo token of a: 401"):
        post_events(lambda: ScriptedClient([401]), {"a": "ta"}, events({"a": 1}), sleep=lambda s: None)


def test_the_demo_agents_get_tokens_revoked_at_the_end():
    tokens = FakeTokens()
    sent: list = []
    report = load_demo(FakeReference(), SEEDS, tokens.unit_of_work, lambda: ScriptedClient(sent=sent),
                       batch_size=1000, events=events({AGENTS[0].agent_id: 3, AGENTS[1].agent_id: 1}),
                       sleep=lambda s: None)
    assert report.accepted == report.events == 4 and "4 events posted" in report.summary()
    assert "demo targets" in report.reference
    assert set(tokens.agents) == {a.agent_id for a in AGENTS}
    assert {(scope, label) for scope, _, label in tokens.issued.values()} == {(AGENT, "demo loader")}
    assert {token for token, _, _ in sent} == {f"token-{AGENTS[0].agent_id}", f"token-{AGENTS[1].agent_id}"}
    assert sorted(tokens.revoked) == sorted(tokens.issued) and tokens.entered == 2


def test_the_tokens_are_revoked_when_posting_fails():
    tokens = FakeTokens()
    with pytest.raises(DemoRefused):
        load_demo(FakeReference(), SEEDS, tokens.unit_of_work, lambda: ScriptedClient([403]), batch_size=10,
                  events=events({AGENTS[0].agent_id: 1}), sleep=lambda s: None)
    assert tokens.issued and sorted(tokens.revoked) == sorted(tokens.issued)


def test_no_token_is_issued_when_a_demo_province_is_not_in_the_reference():
    tokens = FakeTokens(known=())
    with pytest.raises(UnknownCodes):
        load_demo(FakeReference(), SEEDS, tokens.unit_of_work, ScriptedClient, batch_size=10, events=[])
    assert tokens.issued == {} and tokens.revoked == []
