"""What the dashboard's browser tests share: Debian's chromium, the app served over HTTP on the
real PostgreSQL with the seeded data set, tokens, and the reporting API read directly."""
from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import requests
from werkzeug.serving import make_server

from service.domain import access
from service.adapters.postgres import tokens as token_store
from service.bootstrap import build_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PRIMARY_MEASURE = {"BHXH_BB": "in_scope_bhxh_bb", "BHTN": "in_scope_bhtn", "BHXH_TN": "labour_force",
                   "BHXH": "labour_force", "BHYT_HGD": "population", "BHYT_KHAC": "population", "BHYT": "population"}
NEEDS_CHROMIUM = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (Debian package chromium; make test installs it)")


def vi_number(n) -> str:
    return f"{int(n):,}".replace(",", ".")


def vi_percent(pct) -> str:
    return f"{float(pct):.2f}".replace(".", ",") + "\u00a0%"


def en_percent(pct) -> str:
    return f"{float(pct):.2f}\u00a0%"


class Site:
    """The served app; `token` is the nation-wide reporting token the API is read with."""

    def __init__(self, base_url: str, database_url: str, token: str, period: str):
        self.base_url, self.database_url, self.token, self.period = base_url, database_url, token, period

    def issue(self, label: str, **kw) -> str:
        """A further reporting token (e.g. `localities=["82"]`)."""
        with psycopg.connect(self.database_url) as conn:
            return token_store.issue(conn, access.REPORTING, None, label, **kw)[1]

    def api(self, path: str, token: str | None = None, **params) -> dict:
        response = requests.get(f"{self.base_url}/v1/reports/{path}", params=params,
                                headers={"Authorization": f"Bearer {token or self.token}"}, timeout=10)
        response.raise_for_status()
        return response.json()

    def coverage(self, **params) -> dict[tuple[str, str], dict]:
        params.setdefault("period", self.period)
        items = self.api("coverage", page_size=10000, **params)["items"]
        return {(i["locality_code"], i["scheme"]): i for i in items
                if i["denominator_measure"] == PRIMARY_MEASURE[i["scheme"]]}


@contextmanager
def served(settings, token: str, period: str) -> Iterator[Site]:
    app = build_api(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard-server", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", settings.database_url, token, period)
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["enrolment"].close()


@contextmanager
def dashboard(browser, site: Site, token: str, loaded: str, **context_options):
    """A signed-in page, once the figures of `loaded` ("CODE@PERIOD") are shown; fails on any
    script error in the page and on any failed request."""
    context = browser.new_context(**({"viewport": {"width": 1200, "height": 1000}} | context_options))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A scoped token's page never asks for what it may not see: no 403 (nor any other failure).
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    page.goto(f"{site.base_url}/dashboard/")
    page.fill("#token-input", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(f'body[data-loaded="{loaded}"]')
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


def table(page) -> dict[tuple[str, str], dict[str, str]]:
    rows = page.eval_on_selector_all("#figures-table tbody tr", """rows => rows.map(r => ({
        code: r.dataset.code, scheme: r.dataset.scheme,
        cells: Object.fromEntries([...r.cells].map(c => [c.dataset.col, c.textContent]))}))""")
    return {(r["code"], r["scheme"]): r["cells"] for r in rows}


def figures(page, selector: str) -> dict[str, str]:
    return dict(page.eval_on_selector_all(
        f"{selector} div", "ds => ds.map(d => [d.dataset.figure, d.querySelector('dd').textContent])"))


def wait_until(page, expression: str, timeout_s: float = 30.0) -> None:
    """Poll a JavaScript condition until it holds, with a deadline. Playwright's
    wait_for_function evaluates its string with eval while it polls, which the dashboard's
    Content-Security-Policy (script-src 'self') refuses; page.evaluate is not subject to it."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true within {timeout_s} s: {expression}"
        page.wait_for_timeout(50)
