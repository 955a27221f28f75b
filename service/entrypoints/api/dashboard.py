"""The dashboard: a static page (plain JS + SVG + CSS, no framework) that reads the reporting
API with a reporting token the user pastes. Served from the package; nothing is fetched from
elsewhere at run time, which the Content-Security-Policy makes the browser enforce."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, redirect, send_from_directory
from werkzeug.wrappers import Response as WerkzeugResponse

ASSETS = Path(__file__).parent / "static" / "dashboard"
CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

blp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@blp.get("")
def dashboard_root() -> WerkzeugResponse:  # what flask.redirect returns
    return redirect("/dashboard/", code=308)


@blp.get("/")
def dashboard_index() -> Response:
    return _asset("index.html")


@blp.get("/<path:filename>")
def dashboard_asset(filename: str) -> Response:
    return _asset(filename)


def _asset(filename: str) -> Response:
    # Short cache: a new release is picked up within a minute; assets are small (~30 KB).
    response = send_from_directory(ASSETS, filename, max_age=60)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
