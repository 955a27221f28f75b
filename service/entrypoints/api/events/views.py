"""Agents post events here. 202 only once the event is durable: stored in the outbox
(PostgreSQL, committed), then published. The views translate HTTP to the use case
(`service_layer.ingestion.ingest`: a request's retractions judged, its events accepted) and back.

Validation order: the event contract (`EventBodySchema`), then the API's own rules
(`checks.py`). A single event answers 422 (or 403 for a province the agent is not assigned
to) with every violation, 409 for an event id already taken by other content; a batch answers
per item, accepts the valid items, and says 202 when all were accepted, 207 when some (or
all) were rejected. A broker that does not acknowledge in time costs nothing: the outbox relay
publishes later. Only the database being unavailable answers 503 with Retry-After: nothing
was accepted, and re-posting is safe because `event_id` is the idempotency key.
"""
from __future__ import annotations

import logging
import time
from http import HTTPStatus
from datetime import datetime
from typing import Any

import orjson
from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from ....contract.events import EventBodySchema
from ....contract.fast_body import fast_body
from ....domain.model import Event
from ....service_layer.ingestion import Acceptance, Outcome, accept, ingest, outbox_entry
from ....service_layer.retractions import Refusal
from ....service_layer.unavailable import DatabaseUnavailable
from .. import metrics
from ..auth import agent_required
from ..inputs import parse_json, request_body
from ..problems import Problem, flatten, printable, problem_response, violation
from ..resources import Ingestion, Resources, current_resources
from .checks import PROVINCE_NOT_ASSIGNED
from .schemas import AcceptedSchema, BatchBodySchema, BatchResultSchema

log = logging.getLogger(__name__)
blp = Blueprint("events", __name__, url_prefix="/v1/events",
                description="Enrolment and outreach events posted by collection agents")

RETRY_AFTER_S = "5"
_BODY = EventBodySchema()


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _json_body() -> Any:
    content_type = request.headers.get("Content-Type", "")
    if content_type != "application/json" and not _is_json(request.mimetype):
        raise Problem(415, "Unsupported Media Type", "send the body as application/json", type_="media-type")
    return parse_json(request_body(cache=False))


def _validate(item: Any, ing: Ingestion, provinces: frozenset[str], now: datetime
              ) -> tuple[dict | None, list[dict[str, str]]]:
    """(the loaded body, []) or, when it breaks a rule, (None, every violation)."""
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


TITLES = {403: "Forbidden", 404: "Not Found", 422: "Unprocessable Content"}  # of a retraction's refusals


def _refusal_errors(refused: Refusal) -> list[dict[str, str]]:
    return [violation(refused.field, refused.rule, refused.message)]


def _count_rejections(errors: list[dict[str, str]]) -> None:
    metrics.EVENTS.labels("rejected").inc()
    for rule in {e["rule"] for e in errors}:
        metrics.REJECTIONS.labels(rule).inc()


EVENT_ID_CONFLICT = "event_id_conflict"
_CONFLICT = violation("event_id", EVENT_ID_CONFLICT,
                      "an event with this event_id and other content was accepted before: use a new event_id")


def _accept(res: Resources, ing: Ingestion, events: list[Event], now: datetime) -> Acceptance:
    """Durable first (the outbox), then published; 503 when the database cannot take them."""
    entries = [outbox_entry(e, now, ing.pseudonymiser, ing.digest_key) for e in events]
    started = time.perf_counter()
    try:
        acceptance = accept(entries, ing.outbox, res.publisher)
    except DatabaseUnavailable as exc:  # an outage; anything else is a bug
        metrics.EVENTS.labels("unavailable").inc(len(events))
        log.warning("outbox unavailable", extra={"events": len(events), "error": type(exc).__name__})
        raise Problem(503, "Service Unavailable",
                      "the database did not store the events; nothing is reported accepted: "
                      "post again later with the same event_id(s)",
                      headers={"Retry-After": RETRY_AFTER_S}, type_="database-unavailable") from None
    metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
    if not acceptance.published:
        log.warning("broker did not acknowledge; the outbox relay will publish", extra={"events": len(events)})
    conflicts = acceptance.outcomes.count(Outcome.CONFLICT)
    metrics.EVENTS.labels("accepted").inc(len(events) - conflicts)
    if conflicts:
        metrics.EVENTS.labels("rejected").inc(conflicts)
        metrics.REJECTIONS.labels(EVENT_ID_CONFLICT).inc(conflicts)
    return acceptance


def _json_response(body: dict, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _openapi(body_schema, answers: dict[int, tuple[object, str]], problems: tuple[int, ...] = ()) -> dict:
    """The operation's OpenAPI doc in one `blp.doc` (each flask-smorest response decorator
    would add a wrapper to the hot path). The error answers are added by `openapi.ProblemAnswers`."""
    responses: dict[str, object] = {
        str(code): {"description": text, "content": {"application/json": {"schema": schema}}}
        for code, (schema, text) in answers.items()}
    responses.update({str(code): HTTPStatus(code).name for code in problems})  # the problem+json components
    return {"security": [{"bearerAuth": []}], "responses": responses,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}}}


@blp.route("", methods=["POST"])
@blp.doc(**_openapi(EventBodySchema, {202: (AcceptedSchema, "the event is durable (and published, or to be)")},
                    problems=(409,)))
@agent_required
def post_event() -> Response:
    """Post one event"""
    res = current_resources()
    ing = res.ingestion
    now = res.clock()
    data, errors = _validate(_json_body(), ing, g.agent_provinces, now)
    if data is None:
        _count_rejections(errors)
        forbidden = all(e["rule"] == PROVINCE_NOT_ASSIGNED for e in errors)
        log.info("event rejected", extra={"rules": sorted({e["rule"] for e in errors})})
        return problem_response(403 if forbidden else 422, "Forbidden" if forbidden else "Unprocessable Content",
                                "the event breaks the rules listed in errors", errors,
                                type_="province-not-assigned" if forbidden else "invalid-event")
    verdict = ingest([data], g.agent, res.known_events, lambda events: _accept(res, ing, events, now))[0]
    if verdict.refusal is not None:
        refused = verdict.refusal
        errors = _refusal_errors(refused)
        _count_rejections(errors)
        return problem_response(refused.status, TITLES[refused.status],
                                "the retraction breaks the rules listed in errors", errors,
                                type_=refused.rule.replace("_", "-"))
    event = verdict.event
    if verdict.outcome is Outcome.CONFLICT:
        return problem_response(409, "Conflict", "this event_id names another event", [_CONFLICT],
                                type_="event-id-conflict")
    return _json_response({"event_id": str(event.event_id), "status": "accepted"}, 202)


@blp.route("/batch", methods=["POST"])
@blp.doc(**_openapi(BatchBodySchema, {
    202: (BatchResultSchema, "every event accepted (durable)"),
    207: (BatchResultSchema, "some or all events rejected; the others accepted"),
}))
@agent_required
def post_batch() -> Response:
    """Post up to MAX_BATCH_EVENTS events (an agent app's offline queue)"""
    res = current_resources()
    ing = res.ingestion
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
    valid: list[dict] = []  # the loaded bodies of the valid items
    positions: list[int] = []  # their positions in results
    for index, item in enumerate(items):
        data, errors = _validate(item, ing, provinces, now)
        if data is None:
            posted_id = item.get("event_id") if isinstance(item, dict) else None
            _count_rejections(errors)
            results.append({"index": index, "event_id": printable(posted_id) if isinstance(posted_id, str) else None,
                            "status": "rejected", "errors": errors})
            continue
        valid.append(data)
        positions.append(len(results))
        results.append({"index": index})
    verdicts = ingest(valid, agent, res.known_events, lambda events: _accept(res, ing, events, now))
    for position, verdict in zip(positions, verdicts):
        result = {**results[position], "event_id": str(verdict.event.event_id), "status": "accepted"}
        if verdict.refusal is not None:  # a known event the agent may not retract: rejected like any rule's breach
            errors = _refusal_errors(verdict.refusal)
            _count_rejections(errors)
            result = {**result, "status": "rejected", "errors": errors}
        elif verdict.outcome is Outcome.CONFLICT:
            result = {**result, "status": "rejected", "errors": [_CONFLICT]}
        results[position] = result
    accepted = sum(r["status"] == "accepted" for r in results)
    rejected = len(items) - accepted
    if rejected:
        log.info("batch items rejected", extra={
            "events": len(items), "rejected": rejected,
            "rules": sorted({e["rule"] for r in results for e in r.get("errors", ())}),
        })
    return _json_response({"accepted": accepted, "rejected": rejected, "results": results},
                          207 if rejected else 202)
