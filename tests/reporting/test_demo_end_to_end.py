"""The demo data set driven the whole way: HTTP API -> broker -> consumer worker -> views/API."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from werkzeug.serving import make_server

from reporting_figures import assert_api_figures, assert_sql_figures
from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.adapters.postgres.contribution_rules import load_seed
from service.bootstrap import build_api, build_demo_loader

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def consumed(settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer_group = %s",
                            (settings.consumer_group,)).fetchone()[0]


def test_demo_reproduces_the_articles(settings):
    load_seed(settings.database_url)
    app = build_api(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {**os.environ, **settings.to_env(), "WORKER_METRICS_PORT": "0", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "service.entrypoints.cli", "worker"], env=env)
    try:
        report = build_demo_loader(settings, f"http://127.0.0.1:{server.server_port}")()
        assert report.rejected == [] and report.accepted == report.events > 45_000, report.summary()
        deadline = time.monotonic() + 120
        while consumed(settings) < report.accepted and time.monotonic() < deadline:
            assert worker.poll() is None, f"worker exited with {worker.returncode}"
            time.sleep(0.5)
        assert consumed(settings) >= report.accepted

        assert_sql_figures(settings.database_url)
        with psycopg.connect(settings.database_url) as conn:
            _, token = token_store.issue(conn, access.REPORTING, None, "analyst")
        client = app.test_client()

        def get(path, **params):
            r = client.get(f"/v1/reports/{path}", query_string=params, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.get_data(as_text=True)
            return r.get_json()

        assert_api_figures(get)
        # Participants who lapsed and came back are re-activations, not new participants.
        bac_giang = get("flows", period_type="ytd", period="2023-05-YTD", locality="24", scheme="BHXH_TN")["items"][0]
        assert (bac_giang["new_participants"], bac_giang["reactivations"], bac_giang["lapses"]) == (1_145, 50, 0)
        lapsed = get("flows", period_type="year", period="2022", locality="24", scheme="BHXH_TN")["items"][0]
        assert lapsed["lapses"] == 50
    finally:
        worker.terminate()
        worker.wait(30)
        server.shutdown()
        app.extensions["enrolment"].close()
