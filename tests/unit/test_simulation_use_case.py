"""Simulated traffic (service_layer/simulation.py) through fake API clients, and simulated
agents on a fake token store: no server."""
from __future__ import annotations

import random
import threading

import pytest

from service.service_layer.simulation import RequestOutcome
from service.domain.model import Channel
from service.domain.simulation import SimAgent, TrafficMix
from service.service_layer.simulation import create_simulated_agents, play_traffic
from service.domain.access import AGENT
from service.service_layer.tokens import UnknownCodes

AGENTS = [SimAgent("a1", "enr_1", Channel.POST_OFFICE, ("00004", "00007")),
          SimAgent("a2", "enr_2", Channel.EMPLOYER, ("26734",))]


class AcceptingClient:
    """Accepts every event; notes what it was sent and whether it was closed."""

    def __init__(self, sent: list, closed: list, lock: threading.Lock):
        self.sent, self.closed, self.lock = sent, closed, lock

    def send(self, token: str, events: list[dict], batch: bool) -> RequestOutcome:
        with self.lock:
            self.sent.append((token, len(events), batch))
        return RequestOutcome(status=202, latency_s=0.001, accepted=len(events))

    def close(self) -> None:
        self.closed.append(self)


def test_traffic_stops_at_max_events_each_thread_with_its_own_client():
    sent: list = []
    closed: list = []
    lock = threading.Lock()
    clients: list = []

    def new_client():
        clients.append(AcceptingClient(sent, closed, lock))
        return clients[-1]

    summary = play_traffic(new_client, AGENTS, rate=0, max_events=250, concurrency=3, seed=7,
                           mix=TrafficMix(invalid=0, retry=0))
    assert summary.events_sent == summary.accepted == sum(n for _, n, _ in sent) == 250
    assert summary.requests == len(sent) and summary.status[202] == len(sent)
    assert {token for token, _, _ in sent} <= {"enr_1", "enr_2"}
    assert len(clients) == 3 and sorted(map(id, closed)) == sorted(map(id, clients))


def test_a_stop_already_set_sends_nothing():
    stop = threading.Event()
    stop.set()
    sent: list = []
    summary = play_traffic(lambda: AcceptingClient(sent, [], threading.Lock()), AGENTS, rate=0, max_events=50,
                           stop=stop)
    assert summary.events_sent == 0 and sent == []


class FakeTokens:
    def __init__(self):
        self.calls: list = []

    def unknown_provinces(self, codes):
        return [c for c in codes if c != "01" and c != "79"]

    def upsert_agent(self, agent_id, name, channel, provinces):
        self.calls.append(("upsert", agent_id, tuple(provinces)))

    def revoke(self, *, token_id=None, token=None, agent_id=None):
        self.calls.append(("revoke", agent_id))
        return 1

    def issue(self, scope, agent_id, label="", localities=(), min_cell_size=None):
        self.calls.append(("issue", scope, agent_id, label))
        return 1, f"token-{agent_id}"


def test_each_simulated_agent_gets_a_fresh_token_after_its_old_ones_are_revoked():
    tokens = FakeTokens()
    made = create_simulated_agents(tokens, 3, ["01", "79"], random.Random(1),
                                   lambda agent_id, token, channel, mine: (agent_id, token, channel, mine))
    assert [m[0] for m in made] == ["sim-agent-001", "sim-agent-002", "sim-agent-003"]
    assert all(token == f"token-{agent_id}" for agent_id, token, _, _ in made)
    assert [m[3][0] for m in made] == ["01", "79", "01"]  # spread over the provinces in turn
    assert tokens.calls[:3] == [("upsert", "sim-agent-001", tuple(made[0][3])), ("revoke", "sim-agent-001"),
                                ("issue", AGENT, "sim-agent-001", "simulator")]


def test_simulated_agents_need_known_provinces():
    tokens = FakeTokens()
    with pytest.raises(UnknownCodes) as refused:
        create_simulated_agents(tokens, 2, ["01", "99"], random.Random(1), lambda *agent: agent)
    assert refused.value.codes == ["99"] and tokens.calls == []
