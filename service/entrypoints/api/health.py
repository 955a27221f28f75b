"""Liveness, readiness and metrics (plain Flask routes, outside the OpenAPI document)."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, Response

from ...service_layer.unavailable import DatabaseUnavailable
from . import metrics
from .resources import current_resources

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)
READY_TIMEOUT_S = 1.0


def _json(body: dict, status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@blp.get("/healthz")
def healthz() -> Response:
    """The process is up and answering."""
    return _json({"status": "ok"}, 200)


@blp.get("/readyz")
def readyz() -> Response:
    """A produce would succeed (the broker answers and this process's last publish was
    acknowledged) and the database answers, within a short timeout."""
    res = current_resources()
    checks = {"broker": res.publisher.ready(READY_TIMEOUT_S), "database": _database_answers(res)}
    ready = all(checks.values())
    return _json({"status": "ready" if ready else "unavailable", "checks": checks}, 200 if ready else 503)


def _database_answers(res) -> bool:
    try:
        res.check_database(READY_TIMEOUT_S)
        return True
    except DatabaseUnavailable as exc:
        log.warning("database not ready", extra={"error": type(exc).__name__})
        return False


@blp.get("/metrics")
def prometheus_metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, status=200, content_type=content_type)
