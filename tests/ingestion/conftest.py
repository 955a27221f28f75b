"""Fixtures of the ingestion tests: reference data, tokens, the app."""
from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from ingestion_helpers import LOCALITIES
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.contribution_rules import load_seed
from service.domain.model import Channel
from service.bootstrap import build_api


@dataclass
class Tokens:
    agent: str  # agent-1: post_office, provinces 01 and 87
    other_agent: str  # agent-2: collection_organisation, province 79
    reporting: str
    agent_token_id: int
    reference: str = ""  # writes denominators and targets, the whole nation


@pytest.fixture
def reference(database_url):
    with psycopg.connect(database_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO localities (code, name, level, parent_code) VALUES (%s, %s, %s, %s)", LOCALITIES
        )
    load_seed(database_url)
    return database_url


@pytest.fixture
def tokens(reference) -> Tokens:
    with psycopg.connect(reference) as conn:
        token_store.upsert_agent(conn, "agent-1", "Bưu điện Ba Đình", Channel.POST_OFFICE, ["01", "87"])
        token_store.upsert_agent(conn, "agent-2", "Tổ chức dịch vụ thu Sài Gòn", Channel.COLLECTION_ORGANISATION, ["79"])
        agent_id, agent = token_store.issue(conn, access.AGENT, "agent-1", "test")
        _, other = token_store.issue(conn, access.AGENT, "agent-2", "test")
        _, reporting = token_store.issue(conn, access.REPORTING, None, "analyst")
        _, reference_token = token_store.issue(conn, access.REFERENCE, None, "statistics office")
    return Tokens(agent, other, reporting, agent_id, reference_token)


@pytest.fixture
def app(settings, tokens):
    app = build_api(settings)
    yield app
    app.extensions["enrolment"].close()


@pytest.fixture
def client(app):
    return app.test_client()
