"""Agents post events here. 202 only once the event is durable: stored in the outbox
(PostgreSQL, committed), then published (`service_layer.ingestion.accept`).

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
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError
from psycopg_pool import ConnectionPool, PoolTimeout

from ....adapters.postgres import known_events
from ....adapters.postgres.outbox import GroupedOutbox
from ....adapters.postgres.communes import commune_provinces
from ....adapters.postgres.contribution_rules import read_rules
from ....contract.digest import digest_key
from ....contract.events import EventBodySchema, build_event
from ....contract.fast_body import fast_body
from ....domain.identity import Pseudonymiser
from ....domain.model import RETRACTED, Event, Retractor
from ....service_layer.ingestion import Acceptance, Outcome, accept, outbox_entry
from ....service_layer.retractions import Refusal, refusal
from .. import metrics
from ..auth import agent_required
from ..inputs import parse_json, request_body
from ..problems import Problem, flatten, printable, problem_response, violation
from ..resources import Resources, current_resources
from ....config import Settings
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
    digest_key: bytes
    outbox: GroupedOutbox


def build_ingestion(settings: Settings, pool: Callable[[], ConnectionPool]) -> Ingestion:
    """The resource's state, built in the process that uses it (`Resources.ingestion`)."""
    def read(fn):
        def load():
            with pool().connection() as conn:
                return fn(conn)
        return load

    ttl = settings.reference_refresh_s
    return Ingestion(
        checks=EventChecks(Refreshing(read(commune_provinces), ttl), Refreshing(read(read_rules), ttl),
                           settings.max_clock_skew_s),
        pseudonymiser=Pseudonymiser(settings.pseudonym_key),
        digest_key=digest_key(settings.pseudonym_key),
        outbox=GroupedOutbox(lambda: psycopg.connect(settings.database_url, connect_timeout=3,
                                                     application_name="enrolment-api-outbox"),
                             timeout_s=settings.publish_timeout_s),
    )


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


def retraction_refusals(res: Resources, retractor: Retractor, retractions: list[tuple[int, dict]]
                        ) -> dict[int, Refusal]:
    """Position -> why the retraction there is refused now, for loaded retraction bodies (one
    query, only when a request retracts something). An event not known yet is no refusal: an
    offline agent's queue may hold the retraction before the event."""
    if not retractions:
        return {}
    with res.pool.connection() as conn:
        known = known_events.find(conn, sorted({d["retraction"]["event_id"] for _, d in retractions}))
    out = {}
    for position, data in retractions:
        found = refusal(retractor, known.get(data["retraction"]["event_id"]), target_field="retraction.event_id",
                        must_be_known=False, locality_code=data["locality_code"])
        if found is not None:
            out[position] = found
    return out


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
    except (psycopg.OperationalError, PoolTimeout) as exc:  # an outage; anything else is a bug
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
    if data["kind"] == RETRACTED:
        refused = retraction_refusals(res, Retractor(agent=g.agent), [(0, data)]).get(0)
        if refused is not None:
            errors = [violation(refused.field, refused.rule, refused.message)]
            _count_rejections(errors)
            return problem_response(refused.status, TITLES[refused.status],
                                    "the retraction breaks the rules listed in errors", errors,
                                    type_=refused.rule.replace("_", "-"))
    event = build_event(data, g.agent)
    if _accept(res, ing, [event], now).outcomes[0] is Outcome.CONFLICT:
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
    events: list[tuple[int, Event]] = []  # (position in results, event) of the valid items
    retractions: list[tuple[int, dict]] = []  # (index, loaded body) of the valid retractions
    for index, item in enumerate(items):
        posted_id = item.get("event_id") if isinstance(item, dict) else None
        data, errors = _validate(item, ing, provinces, now)
        if data is None:
            _count_rejections(errors)
            results.append({"index": index, "event_id": printable(posted_id) if isinstance(posted_id, str) else None,
                            "status": "rejected", "errors": errors})
            continue
        if data["kind"] == RETRACTED:
            retractions.append((index, data))
        event = build_event(data, agent)
        events.append((len(results), event))
        results.append({"index": index, "event_id": str(event.event_id), "status": "accepted"})
    refusals = retraction_refusals(res, Retractor(agent=agent), retractions)
    if refusals:  # known events the agent may not retract: rejected like any rule's breach
        kept = []
        for position, event in events:
            refused = refusals.get(results[position]["index"])
            if refused is None:
                kept.append((position, event))
                continue
            errors = [violation(refused.field, refused.rule, refused.message)]
            _count_rejections(errors)
            results[position] = {**results[position], "status": "rejected", "errors": errors}
        events = kept
    if events:
        outcomes = _accept(res, ing, [e for _, e in events], now).outcomes
        for (position, _), outcome in zip(events, outcomes):
            if outcome is Outcome.CONFLICT:
                results[position] = {**results[position], "status": "rejected", "errors": [_CONFLICT]}
    accepted = sum(r["status"] == "accepted" for r in results)
    rejected = len(items) - accepted
    if rejected:
        log.info("batch items rejected", extra={
            "events": len(items), "rejected": rejected,
            "rules": sorted({e["rule"] for r in results for e in r.get("errors", ())}),
        })
    return _json_response({"accepted": accepted, "rejected": rejected, "results": results},
                          207 if rejected else 202)
