"""Fixtures of the operations tests: the real API served over HTTP, reference data loaded."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from service.adapters.postgres.contribution_rules import load_seed
from service.adapters.postgres.reference import load_vietnam_localities
from service.bootstrap import build_api


@dataclass
class ServedApi:
    base_url: str
    app: object


@pytest.fixture
def reference_data(database_url: str) -> str:
    """Today's provinces and communes and the contribution rules, as `enrolment run` loads them."""
    load_vietnam_localities(database_url)
    load_seed(database_url)
    return database_url


@pytest.fixture
def served_api(settings, reference_data) -> Iterator[ServedApi]:
    """The real app (real PostgreSQL, real broker) behind a real HTTP server in a thread."""
    app = build_api(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="api-server", daemon=True)
    thread.start()
    try:
        yield ServedApi(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["enrolment"].close()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    from dashboard_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
