"""Agents post events here. 202 only once the broker acknowledged (acks=all).

Validation order: the event contract (`EventBodySchema`), then the API's own rules
(`checks.py`). A single event answers 422 (or 403 for a province the agent is not assigned
to) with every violation; a batch answers per item, publishes the valid items, and says 202
when all were accepted, 207 when some (or all) were rejected. If the broker does not
acknowledge every valid item within `publish_timeout_s` the whole request answers 503 with
Retry-After: re-posting is safe because `event_id` is the idempotency key downstream.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from ....adapters.kafka.publisher import OutgoingRecord, PublishUnavailable, outgoing
from ....adapters.postgres.communes import commune_provinces
from ....adapters.postgres.contribution_rules import read_rules
from ....contract.events import EventBodySchema, build_event
from ....contract.fast_body import fast_body
from ....domain.identity import Pseudonymiser
from .. import metrics
from ..auth import agent_required
from ..inputs import parse_json, request_body
from ..problems import Problem, flatten, printable, problem_response, violation
from ..resources import Resources, current_resources
from .checks import PROVINCE_NOT_ASSIGNED, EventChecks, Refreshing
from .schemas import AcceptedSchema, BatchBodySchema, BatchResultSchema

log = logging.getLogger(__name__)
blp = Blueprint("events", __name__, url_prefix="/v1/events",
                description="Enrolment and outreach events posted by collection agents")

RETRY_AFTER_S = "5"
_BODY = EventBodySchema()


@dataclass
class Ingestion:
    """Per-app state of the resource: reference caches and the pseudonymiser for keys."""

    checks: EventChecks
    pseudonymiser: Pseudonymiser


def _ingestion(res: Resources) -> Ingestion:
    found = res.extras.get("ingestion")
    if found is None:
        def read(fn):
            def load():
                with res.pool.connection() as conn:
                    return fn(conn)
            return load

        ttl = res.settings.reference_refresh_s
        found = res.extras.setdefault("ingestion", Ingestion(
            checks=EventChecks(Refreshing(read(commune_provinces), ttl), Refreshing(read(read_rules), ttl),
                               res.settings.max_clock_skew_s),
            pseudonymiser=Pseudonymiser(res.settings.pseudonym_key),
        ))
    return found


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _json_body() -> Any:
    content_type = request.headers.get("Content-Type", "")
    if content_type != "application/json" and not _is_json(request.mimetype):
        raise Problem(415, "Unsupported Media Type", "send the body as application/json", type_="media-type")
    return parse_json(request_body(cache=False))


def _validate(item: Any, ing: Ingestion, provinces: frozenset[str], now: datetime
              ) -> tuple[dict | None, list[dict[str, str]]]:
    if not isinstance(item, dict):
        return None, [violation("", "type", "an event is a JSON object")]
    data = fast_body(item)  # plainly valid bodies; marshmallow judges (and words) everything else
    if data is None:
        try:
            data = _BODY.load(item)
        except ValidationError as err:
            return None, flatten(err.messages)
    errors = ing.checks.violations(data, provinces, now)
    return (None, errors) if errors else (data, [])


def _count_rejections(errors: list[dict[str, str]]) -> None:
    metrics.EVENTS.labels("rejected").inc()
    for rule in {e["rule"] for e in errors}:
        metrics.REJECTIONS.labels(rule).inc()


def _publish(res: Resources, records: list[OutgoingRecord]) -> None:
    started = time.perf_counter()
    try:
        res.publisher.publish(records)
    except PublishUnavailable as exc:
        metrics.EVENTS.labels("unavailable").inc(len(records))
        log.warning("publish failed", extra={"events": len(records), "error": str(exc)})
        raise Problem(503, "Service Unavailable",
                      "the broker did not acknowledge the events in time; nothing is reported accepted: "
                      "post again later with the same event_id(s)",
                      headers={"Retry-After": RETRY_AFTER_S}, type_="broker-unavailable") from None
    metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
    metrics.EVENTS.labels("accepted").inc(len(records))


def _json_response(body: dict, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _openapi(body_schema, answers: dict[int, tuple[object, str]]) -> dict:
    """The operation's OpenAPI doc in one `blp.doc` (each flask-smorest response decorator
    would add a wrapper to the hot path). The error answers are added by `openapi.ProblemAnswers`."""
    responses = {str(code): {"description": text, "content": {"application/json": {"schema": schema}}}
                 for code, (schema, text) in answers.items()}
    return {"security": [{"bearerAuth": []}], "responses": responses,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}}}


@blp.route("", methods=["POST"])
@blp.doc(**_openapi(EventBodySchema, {202: (AcceptedSchema, "the broker acknowledged the event")}))
@agent_required
def post_event() -> Response:
    """Post one event"""
    res = current_resources()
    ing = _ingestion(res)
    now = res.clock()
    data, errors = _validate(_json_body(), ing, g.agent_provinces, now)
    if errors:
        _count_rejections(errors)
        forbidden = all(e["rule"] == PROVINCE_NOT_ASSIGNED for e in errors)
        log.info("event rejected", extra={"rules": sorted({e["rule"] for e in errors})})
        return problem_response(403 if forbidden else 422, "Forbidden" if forbidden else "Unprocessable Content",
                                "the event breaks the rules listed in errors", errors,
                                type_="province-not-assigned" if forbidden else "invalid-event")
    event = build_event(data, g.agent)
    _publish(res, [outgoing(event, now, ing.pseudonymiser)])
    return _json_response({"event_id": str(event.event_id), "status": "accepted"}, 202)


@blp.route("/batch", methods=["POST"])
@blp.doc(**_openapi(BatchBodySchema, {
    202: (BatchResultSchema, "every event accepted (broker acknowledged)"),
    207: (BatchResultSchema, "some or all events rejected; the others accepted"),
}))
@agent_required
def post_batch() -> Response:
    """Post up to MAX_BATCH_EVENTS events (an agent app's offline queue)"""
    res = current_resources()
    ing = _ingestion(res)
    body = _json_body()
    items = body.get("events") if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) != {"events"} or not isinstance(items, list):
        raise Problem(422, "Unprocessable Content", 'the body is {"events": [ ... ]}',
                      errors=[violation("events", "required", 'a JSON object with one field, "events", a list')],
                      type_="invalid-batch")
    if not 1 <= len(items) <= res.settings.max_batch_events:
        raise Problem(422, "Unprocessable Content", f"a batch holds 1 to {res.settings.max_batch_events} events",
                      errors=[violation("events", "batch_size", f"must hold 1 to {res.settings.max_batch_events} events")],
                      type_="invalid-batch")
    now = res.clock()
    agent, provinces = g.agent, g.agent_provinces  # flask.g is a proxy: read it once, not per item
    results: list[dict] = []
    records: list[OutgoingRecord] = []
    for index, item in enumerate(items):
        posted_id = item.get("event_id") if isinstance(item, dict) else None
        data, errors = _validate(item, ing, provinces, now)
        if errors:
            _count_rejections(errors)
            results.append({"index": index, "event_id": printable(posted_id) if isinstance(posted_id, str) else None,
                            "status": "rejected", "errors": errors})
            continue
        event = build_event(data, agent)
        records.append(outgoing(event, now, ing.pseudonymiser))
        results.append({"index": index, "event_id": str(event.event_id), "status": "accepted"})
    _publish(res, records)
    rejected = len(items) - len(records)
    if rejected:
        log.info("batch items rejected", extra={
            "events": len(items), "rejected": rejected,
            "rules": sorted({e["rule"] for r in results for e in r.get("errors", ())}),
        })
    return _json_response({"accepted": len(records), "rejected": rejected, "results": results},
                          207 if rejected else 202)
