"""POST /v1/events/{event_id}/retraction: retract an accepted event (a correction).

The event must be known (accepted: in the event store or on its way there): 404 otherwise.
An agent token may retract the events its agent sent, a supervisor token those recorded in its
provinces: 403 otherwise. The retraction is an event like any other (kind `retracted`, its own
client-generated `event_id` as the idempotency key): durable in the outbox before the 202,
published on the events topic, counted by the consumer, which takes the retracted event out of
every figure. Offline agents may also post retractions inside a batch (kind `retracted`),
before the event they name has arrived. The view translates HTTP to the use case
(`service_layer.retractions.retraction_of`) and back.
"""
from __future__ import annotations

import uuid

from flask import Response, g
from marshmallow import ValidationError

from ....domain.model import Retractor
from ....service_layer.ingestion import Outcome
from ....service_layer.retractions import Refusal, retraction_of
from ..auth import retractor_required
from ..problems import flatten, problem_response, violation
from ..resources import current_resources
from .schemas import RetractionAcceptedSchema, RetractionRequestSchema
from .views import EVENT_ID_CONFLICT, TITLES, _CONFLICT, _accept, _count_rejections, _json_body, \
    _json_response, _openapi, _refusal_errors, blp

_REQUEST = RetractionRequestSchema()
PATH_EVENT_ID = "path.event_id"  # the retracted event, named in the path


def _refused(status: int, detail: str, errors: list[dict[str, str]], type_: str) -> Response:
    _count_rejections(errors)
    return problem_response(status, TITLES[status], detail, errors, type_=type_)


def retractor_of_token() -> Retractor:
    principal = g.principal
    if principal.agent is not None:
        return Retractor(agent=principal.agent)
    return Retractor(supervisor_id=f"token-{principal.token_id}", provinces=principal.localities)


@blp.route("/<uuid:event_id>/retraction", methods=["POST"])
@blp.doc(**_openapi(RetractionRequestSchema, {202: (RetractionAcceptedSchema, "the retraction is durable")},
                    problems=(403, 404, 409)))
@retractor_required
def retract_event(event_id: uuid.UUID) -> Response:
    """Retract an accepted event (agent: its own; supervisor: any in its provinces)"""
    res = current_resources()
    ing = res.ingestion
    now = res.clock()
    body = _json_body()
    errors: list[dict[str, str]] = []
    if not isinstance(body, dict):
        errors = [violation("", "type", "the body is a JSON object")]
    else:
        try:
            data = _REQUEST.load(body)
        except ValidationError as err:
            errors = flatten(err.messages)
    if not errors:
        errors = ing.checks.future(data["occurred_at"], now)
        if data["event_id"] == event_id:
            errors.append(violation("event_id", "retraction_target",
                                    "is the retracted event's id: a retraction has an id of its own"))
    if errors:
        return _refused(422, "the retraction breaks the rules listed in errors", errors, "invalid-retraction")
    event = retraction_of(res.known_events, retractor_of_token(), event_id, data, target_field=PATH_EVENT_ID)
    if isinstance(event, Refusal):  # the event is not known (404), or not this token's to retract (403, 422)
        return _refused(event.status, event.message, _refusal_errors(event), event.rule.replace("_", "-"))
    if _accept(res, ing, [event], now).outcomes[0] is Outcome.CONFLICT:
        return problem_response(409, "Conflict", "this event_id names another event", [_CONFLICT],
                                type_=EVENT_ID_CONFLICT.replace("_", "-"))
    return _json_response({"event_id": str(event.event_id), "retracts": str(event_id), "status": "accepted"}, 202)
