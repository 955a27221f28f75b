"""Issuing tokens (service_layer/tokens.py) on a fake token store: nothing is written for an
agent, province or locality the reference data does not know."""
from __future__ import annotations

import pytest

from service.domain.model import Channel
from service.domain.access import AGENT, REPORTING, SUPERVISOR
from service.service_layer.tokens import (
    UnknownCodes, issue_agent_token, issue_locality_token, issue_supervisor_token,
)


class FakeTokens:
    def __init__(self, provinces=("01", "79"), localities=("01", "79", "00004")):
        self.provinces, self.localities = set(provinces), set(localities)
        self.agents: dict = {}
        self.issued: list = []

    def unknown_provinces(self, codes):
        return [c for c in codes if c not in self.provinces]

    def unknown_localities(self, codes):
        return [c for c in codes if c not in self.localities]

    def upsert_agent(self, agent_id, name, channel, provinces):
        self.agents[agent_id] = (name, channel, provinces)

    def issue(self, scope, agent_id, label="", localities=(), min_cell_size=None):
        self.issued.append((scope, agent_id, label, tuple(localities), min_cell_size))
        return len(self.issued), f"enr_{len(self.issued)}"

    def revoke(self, *, token_id=None, token=None, agent_id=None):
        return 0

    def list_tokens(self):
        return []


def test_an_agent_token_updates_the_agent_first():
    tokens = FakeTokens()
    assert issue_agent_token(tokens, "a1", "Agent", Channel.POST_OFFICE, ("79",), "phone") == (1, "enr_1")
    assert tokens.agents == {"a1": ("Agent", Channel.POST_OFFICE, ["79"])}
    assert tokens.issued == [(AGENT, "a1", "phone", (), None)]


def test_unknown_provinces_write_nothing():
    tokens = FakeTokens()
    with pytest.raises(UnknownCodes, match="not provinces in the reference data: 99") as refused:
        issue_agent_token(tokens, "a1", "Agent", Channel.POST_OFFICE, ("01", "99"), "")
    assert refused.value.codes == ["99"]
    with pytest.raises(UnknownCodes):
        issue_supervisor_token(tokens, "boss", ("98",))
    assert tokens.agents == {} and tokens.issued == []


def test_locality_tokens_are_limited_to_known_localities():
    tokens = FakeTokens()
    issue_locality_token(tokens, REPORTING, "analyst", ("00004",), min_cell_size=5)
    with pytest.raises(UnknownCodes, match="not localities in the reference data: 12345"):
        issue_locality_token(tokens, REPORTING, "analyst", ("12345",))
    assert tokens.issued == [(REPORTING, None, "analyst", ("00004",), 5)]


def test_a_supervisor_token_is_limited_to_its_provinces():
    tokens = FakeTokens()
    issue_supervisor_token(tokens, "boss", ("01", "79"))
    assert tokens.issued == [(SUPERVISOR, None, "boss", ("01", "79"), None)]
