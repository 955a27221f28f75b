"""Use case: what the API can tell about a retraction before it accepts it.

A retraction names an event by its id. If that event was accepted already (event store or
outbox), the API answers at once: a sender who may not retract it (`domain.model.may_retract`)
gets 403, a retraction of a retraction 422, and the retraction's locality must be the event's.
An unknown event is 404 where the event must be known (the resource route), and accepted
otherwise (a batch from an offline agent may carry the retraction before the event): the
consumer then judges the retraction when the event arrives, and dead-letters it if refused.

`find_known` is the lookup of the events accepted so far (adapters/postgres/known_events.py,
on a pooled connection: bootstrap.build_api), asked once per request.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..domain.model import KnownEvent, RetractionEvent, Retractor, may_retract

EVENT_KNOWN = "event_known"
RETRACTION_FORBIDDEN = "retraction_forbidden"
RETRACTION_TARGET = "retraction_target"
RETRACTION_LOCALITY = "retraction_locality"


@dataclass(frozen=True)
class Refusal:
    status: int
    field: str
    rule: str
    message: str


def refusal(retractor: Retractor, target: KnownEvent | None, *, target_field: str, must_be_known: bool,
            locality_code: str | None = None) -> Refusal | None:
    """Why the retraction of `target` (None: not accepted so far) is refused now, or None."""
    if target is None:
        return Refusal(404, target_field, EVENT_KNOWN, "no event with this event_id has been accepted") \
            if must_be_known else None
    if target.is_retraction:
        return Refusal(422, target_field, RETRACTION_TARGET,
                       "names a retraction: a retraction cannot be retracted (retract the event again instead)")
    if not may_retract(retractor, target.agent_id, target.places):
        return Refusal(403, target_field, RETRACTION_FORBIDDEN,
                       "only the agent that sent the event, or a supervisor of its province, may retract it")
    if locality_code is not None and locality_code != target.locality_code:
        return Refusal(422, "locality_code", RETRACTION_LOCALITY,
                       f"must be the locality of the event it retracts ({target.locality_code})")
    return None


# The events accepted so far among these ids (one query for a request's ids).
FindKnown = Callable[[Sequence[uuid.UUID]], dict[uuid.UUID, KnownEvent]]


def retraction_refusals(find_known: FindKnown, retractor: Retractor, retractions: Sequence[tuple[int, dict]]
                        ) -> dict[int, Refusal]:
    """Position -> why the retraction there is refused now, for loaded retraction bodies (one
    lookup, only when a request retracts something). An event not known yet is no refusal: an
    offline agent's queue may hold the retraction before the event."""
    if not retractions:
        return {}
    known = find_known(sorted({d["retraction"]["event_id"] for _, d in retractions}))
    out = {}
    for position, data in retractions:
        found = refusal(retractor, known.get(data["retraction"]["event_id"]), target_field="retraction.event_id",
                        must_be_known=False, locality_code=data["locality_code"])
        if found is not None:
            out[position] = found
    return out


def retraction_of(find_known: FindKnown, retractor: Retractor, retracted: uuid.UUID, data: dict, *,
                  target_field: str) -> RetractionEvent | Refusal:
    """The retraction of the accepted event `retracted` that a loaded retraction request (its
    own event_id, occurred_at, reason, note) makes, or why it is refused: the event must be
    known, and `retractor` allowed to retract it. It takes the event's locality."""
    target = find_known([retracted]).get(retracted)
    refused = refusal(retractor, target, target_field=target_field, must_be_known=True)
    if refused is not None:
        return refused
    assert target is not None  # must_be_known: refusal() refuses an event not accepted so far (404)
    return RetractionEvent(event_id=data["event_id"], occurred_at=data["occurred_at"],
                           locality_code=target.locality_code, retractor=retractor, retracts=retracted,
                           reason=data["reason"], note=data.get("note"))
