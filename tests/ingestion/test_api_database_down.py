"""PostgreSQL stopped under a running API: 503 with Retry-After within seconds, never a hang or a 500."""
import time

import psycopg
import pytest

from ingestion_helpers import LOCALITIES, auth, enrolment
from service.adapters.embedded import EmbeddedPostgres
from service.adapters.postgres import migrate
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.contribution_rules import load_seed
from service.domain.model import Channel
from service.bootstrap import build_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WITHIN_S = 10.0  # pool wait (5 s) + slack for a loaded machine


def test_database_down_answers_503_quickly(settings, tmp_path):
    server = EmbeddedPostgres(tmp_path / "pgdata").start()
    try:
        migrate(server.url)
        with psycopg.connect(server.url) as conn:
            conn.cursor().executemany("INSERT INTO localities (code, name, level, parent_code)"
                                      " VALUES (%s, %s, %s, %s)", LOCALITIES)
            token_store.upsert_agent(conn, "agent-1", "Bưu điện", Channel.POST_OFFICE, ["01"])
            _, agent = token_store.issue(conn, access.AGENT, "agent-1")
            _, other_agent = token_store.issue(conn, access.AGENT, "agent-1")
            _, reporting = token_store.issue(conn, access.REPORTING, None)
        load_seed(server.url)
        app = build_api(settings.with_(database_url=server.url))
        client = app.test_client()
        assert client.post("/v1/events", json=enrolment(), headers=auth(agent)).status_code == 202
        server.stop(quiet=True, mode="immediate")
        # even with a token seen before the outage (cached), an event is accepted only once it is
        # durable in PostgreSQL: 503, quickly
        for method, path, token, body in (("post", "/v1/events", agent, enrolment()),
                                          ("post", "/v1/events", other_agent, enrolment()),
                                          ("get", "/v1/reports/flows", reporting, None)):
            started = time.monotonic()
            r = getattr(client, method)(path, json=body, headers=auth(token))
            took = time.monotonic() - started
            assert r.status_code == 503 and r.headers["Retry-After"], r.get_data(as_text=True)
            assert r.mimetype == "application/problem+json" and took < WITHIN_S
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json["checks"]["database"] is False
        app.extensions["enrolment"].close()
    finally:
        server.stop(quiet=True, mode="immediate")
