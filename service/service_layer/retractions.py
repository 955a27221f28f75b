"""Use case: what the API can tell about a retraction before it accepts it.

A retraction names an event by its id. If that event was accepted already (event store or
outbox), the API answers at once: a sender who may not retract it (`domain.model.may_retract`)
gets 403, a retraction of a retraction 422, and the retraction's locality must be the event's.
An unknown event is 404 where the event must be known (the resource route), and accepted
otherwise (a batch from an offline agent may carry the retraction before the event): the
consumer then judges the retraction when the event arrives, and dead-letters it if refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..adapters.postgres.known_events import KnownEvent
from ..domain.model import Retractor, may_retract

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
