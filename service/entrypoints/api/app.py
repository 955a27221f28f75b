"""The Flask app factory of the enrolment API (flask-smorest, OpenAPI 3): `create_app(settings,
resources)`; `bootstrap.build_api(settings)` builds the resources and calls it.

`/openapi.json` is the OpenAPI document, `/docs` the Swagger UI, served from the
`swagger-ui-bundle` wheel (no asset comes from the internet at run time).
"""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request, send_from_directory
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from ...config import Settings
from ...service_layer.unavailable import DatabaseUnavailable
from . import metrics
from .events.schemas import ProblemSchema
from .openapi import ProblemAnswers, register_problem_responses
from .inputs import check_query
from .problems import from_http_exception, problem_response
from .resources import EXTENSION, Resources

log = logging.getLogger("service.api")
DOCS_ASSETS = "/docs/assets/"


class ProblemApi(Api):
    """flask-smorest's Api answering (and documenting) every HTTP error as RFC 9457 problem details."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # no "default" answer: every status an operation gives is listed

    def _register_responses(self):  # flask-smorest's hook: its own would say application/json
        register_problem_responses(self.spec, self.ERROR_SCHEMA)

    def handle_http_exception(self, error: HTTPException):
        return from_http_exception(error)


def _register_blueprints(app: Flask, api: Api) -> None:
    # ---- Blueprints: one registration line per resource; other areas add theirs here. ----
    from .events import blp as events_blp
    from .health import blp as health_blp

    api.register_blueprint(events_blp)
    app.register_blueprint(health_blp)  # /healthz, /readyz, /metrics (not in the OpenAPI doc)
    from .dashboard import blp as dashboard_blp; app.register_blueprint(dashboard_blp)  # /dashboard/ (static page)
    from .reports import blp as reports_blp; api.register_blueprint(reports_blp)  # /v1/reports/* (reporting token)
    # ---- end of blueprints ----


def create_app(settings: Settings, resources: Resources) -> Flask:
    """The API on its collaborators, which `bootstrap.build_api` (the composition root) wires."""
    if not settings.pseudonym_key:  # record keys are pseudonyms: refuse to start without the key
        raise ValueError("PSEUDONYM_KEY is required")
    app = Flask("enrolment_api")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="Enrolment reporting API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,
        JSON_SORT_KEYS=False,
    )
    app.extensions[EXTENSION] = resources

    api = ProblemApi(app, spec_kwargs={
        "extra_plugins": [ProblemAnswers()],
        "info": {"description": "Collection agents post enrolment and outreach events; analysts read coverage reports."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    app.before_request(check_query)
    app.register_error_handler(DatabaseUnavailable, database_unavailable)
    _register_blueprints(app, api)
    _serve_docs_assets(app)
    _observe_requests(app)
    return app


def database_unavailable(error: Exception) -> Response:
    """PostgreSQL down or out of connections (a token lookup, a report): 503, soon, never a hang."""
    log.warning("database unavailable", extra={"error": type(error).__name__})
    return problem_response(503, "Service Unavailable", "the database is unavailable: try again later",
                            headers={"Retry-After": "5"}, type_="database-unavailable")


def _serve_docs_assets(app: Flask) -> None:
    from swagger_ui_bundle import swagger_ui_path

    @app.get(DOCS_ASSETS + "<path:filename>")
    def docs_assets(filename: str) -> Response:
        return send_from_directory(swagger_ui_path, filename, max_age=3600)


STARTED = "enrolment.started"


def _observe_requests(app: Flask) -> None:
    """Request metrics and one log line per request: method, route, status, time, agent.
    Never the body, the query string or anything else a personal id could be in."""
    wsgi_app = app.wsgi_app

    def timed(environ, start_response):  # cheaper than a before_request hook on the hot path
        environ[STARTED] = time.perf_counter()
        return wsgi_app(environ, start_response)

    app.wsgi_app = timed  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - request.environ.get(STARTED, time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.request_done(endpoint, request.method, response.status_code, elapsed)
        level = logging.INFO if response.status_code >= 400 else logging.DEBUG
        if log.isEnabledFor(level):
            agent = g.get("agent")
            log.log(level, "request", extra={
                "method": request.method, "route": endpoint, "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 3), "agent_id": agent.agent_id if agent else None,
            })
        return response
