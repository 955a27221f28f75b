"""The dashboard: a static page (plain JS + SVG + CSS, no framework) that reads the reporting
API with a reporting token the user pastes. Served from the package; nothing is fetched from
elsewhere at run time, which the Content-Security-Policy makes the browser enforce.

The values the page offers and expects (schemes, period types, measures, sexes, age bands) are
the server's own definitions, served as `vocabulary.js`; i18n.js holds only their labels."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, redirect, send_from_directory
from werkzeug.wrappers import Response as WerkzeugResponse

from ...domain.ageband import BANDS
from ...domain.reporting import BREAKDOWN_SEXES, PERIOD_TYPES, PRIMARY_MEASURE, REPORT_SCHEMES

ASSETS = Path(__file__).parent / "static" / "dashboard"
CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

# Short cache: a new release is picked up within a minute; assets are small (~30 KB).
MAX_AGE_S = 60
VOCABULARY = {
    "schemes": REPORT_SCHEMES,  # in the order of the page's tabs
    "periodTypes": PERIOD_TYPES,
    "primaryMeasure": PRIMARY_MEASURE,
    "sexes": BREAKDOWN_SEXES,
    "ageBands": BANDS,
}
VOCABULARY_JS = f"const VOCABULARY = Object.freeze({json.dumps(VOCABULARY)});\n"

blp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@blp.get("")
def dashboard_root() -> WerkzeugResponse:  # what flask.redirect returns
    return redirect("/dashboard/", code=308)


@blp.get("/")
def dashboard_index() -> Response:
    return _asset("index.html")


@blp.get("/vocabulary.js")
def dashboard_vocabulary() -> Response:
    response = Response(VOCABULARY_JS, mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_S
    return _secured(response)


@blp.get("/<path:filename>")
def dashboard_asset(filename: str) -> Response:
    return _asset(filename)


def _asset(filename: str) -> Response:
    return _secured(send_from_directory(ASSETS, filename, max_age=MAX_AGE_S))


def _secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
