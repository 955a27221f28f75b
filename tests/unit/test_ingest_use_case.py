"""The use cases behind the event views, on fakes: a request's retractions judged against the
events known so far (one lookup), the rest accepted in one call; the retraction resource's
verdict. No servers."""
import uuid
from datetime import UTC, datetime

from service.contract.events import EventBodySchema
from service.domain.model import Agent, Channel, KnownEvent, RetractionEvent, Retractor
from service.service_layer.ingestion import Acceptance, Outcome, ingest
from service.service_layer.retractions import (EVENT_KNOWN, RETRACTION_FORBIDDEN, RETRACTION_LOCALITY,
                                               RETRACTION_TARGET, Refusal, retraction_of)

AGENT = Agent(agent_id="agent-1", channel=Channel.POST_OFFICE)
COMMUNE, PROVINCE = "00004", "01"


def enrolment() -> dict:
    return EventBodySchema().load({
        "event_id": str(uuid.uuid4()), "kind": "registered", "occurred_at": "2025-08-12T09:30:00+07:00",
        "locality_code": COMMUNE, "scheme": "BHYT_HGD",
        "participant": {"personal_id": "001188012345", "sex": "female", "birth_year": 1988}})


def retraction(of: uuid.UUID, locality_code: str = COMMUNE) -> dict:
    return EventBodySchema().load({
        "event_id": str(uuid.uuid4()), "kind": "retracted", "occurred_at": "2025-08-14T10:00:00+07:00",
        "locality_code": locality_code, "retraction": {"event_id": str(of), "reason": "duplicate_entry"}})


def known(event_id: uuid.UUID, agent_id: str | None = "agent-1", is_retraction: bool = False) -> KnownEvent:
    return KnownEvent(event_id, is_retraction, agent_id, COMMUNE, frozenset({COMMUNE, PROVINCE, "VN"}))


class FakeKnownEvents:
    def __init__(self, *events: KnownEvent):
        self.events = {e.event_id: e for e in events}
        self.asked: list[list[uuid.UUID]] = []

    def __call__(self, event_ids):
        self.asked.append(list(event_ids))
        return {i: self.events[i] for i in event_ids if i in self.events}


class FakeAcceptance:
    """Accepts every event, except those named as conflicts."""

    def __init__(self, conflicts=()):
        self.conflicts = set(conflicts)
        self.calls: list[list] = []

    def __call__(self, events):
        self.calls.append(list(events))
        return Acceptance([Outcome.CONFLICT if e.event_id in self.conflicts else Outcome.ACCEPTED for e in events],
                          published=True)


def test_events_are_accepted_together_in_order_without_a_lookup():
    bodies = [enrolment(), enrolment()]
    find, accept = FakeKnownEvents(), FakeAcceptance()
    verdicts = ingest(bodies, AGENT, find, accept)
    assert [v.event.event_id for v in verdicts] == [b["event_id"] for b in bodies]
    assert [v.outcome for v in verdicts] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert all(v.refusal is None for v in verdicts)
    assert [[e.event_id for e in call] for call in accept.calls] == [[b["event_id"] for b in bodies]]
    assert find.asked == []


def test_a_known_event_of_another_agent_is_refused_and_not_offered_the_others_are():
    theirs, unknown = uuid.uuid4(), uuid.uuid4()
    bodies = [retraction(theirs), enrolment(), retraction(unknown)]
    find, accept = FakeKnownEvents(known(theirs, agent_id="agent-2")), FakeAcceptance()
    verdicts = ingest(bodies, AGENT, find, accept)
    assert verdicts[0].refusal is not None and verdicts[0].outcome is None
    assert (verdicts[0].refusal.status, verdicts[0].refusal.rule) == (403, RETRACTION_FORBIDDEN)
    assert verdicts[0].refusal.field == "retraction.event_id"
    # an event not known yet is no refusal: an offline agent's queue may hold the retraction first
    assert [v.outcome for v in verdicts[1:]] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    assert [[e.event_id for e in call] for call in accept.calls] == [[bodies[1]["event_id"], bodies[2]["event_id"]]]
    assert find.asked == [sorted({theirs, unknown})]  # one lookup for the request


def test_a_retraction_of_a_retraction_or_in_another_locality_is_refused():
    a_retraction, mine = uuid.uuid4(), uuid.uuid4()
    find = FakeKnownEvents(known(a_retraction, is_retraction=True), known(mine))
    verdicts = ingest([retraction(a_retraction), retraction(mine, locality_code="00007")], AGENT, find,
                      FakeAcceptance())
    assert [(v.refusal.status, v.refusal.rule) for v in verdicts if v.refusal] == [
        (422, RETRACTION_TARGET), (422, RETRACTION_LOCALITY)]


def test_nothing_left_to_offer_asks_no_acceptance():
    theirs = uuid.uuid4()
    accept = FakeAcceptance()
    verdicts = ingest([retraction(theirs)], AGENT, FakeKnownEvents(known(theirs, agent_id="agent-2")), accept)
    assert verdicts[0].refusal is not None
    assert accept.calls == []


def test_conflicts_are_each_events_own_outcome():
    bodies = [enrolment(), enrolment()]
    verdicts = ingest(bodies, AGENT, FakeKnownEvents(), FakeAcceptance(conflicts={bodies[1]["event_id"]}))
    assert [v.outcome for v in verdicts] == [Outcome.ACCEPTED, Outcome.CONFLICT]


REQUEST = {"event_id": uuid.uuid4(), "occurred_at": datetime(2025, 8, 14, 3, tzinfo=UTC), "reason": "duplicate_entry",
           "note": "sent twice"}


def test_the_retraction_resource_needs_a_known_event():
    missing = uuid.uuid4()
    refused = retraction_of(FakeKnownEvents(), Retractor(agent=AGENT), missing, REQUEST, target_field="path.event_id")
    assert refused == Refusal(404, "path.event_id", EVENT_KNOWN, "no event with this event_id has been accepted")


def test_the_retraction_takes_the_known_events_locality_and_the_request_body():
    mine = uuid.uuid4()
    event = retraction_of(FakeKnownEvents(known(mine)), Retractor(agent=AGENT), mine, REQUEST,
                          target_field="path.event_id")
    assert isinstance(event, RetractionEvent)
    assert (event.event_id, event.retracts, event.locality_code, event.note) == (
        REQUEST["event_id"], mine, COMMUNE, "sent twice")


def test_a_supervisor_retracts_in_its_provinces_only():
    theirs = uuid.uuid4()
    find = FakeKnownEvents(known(theirs, agent_id="agent-2"))
    ours = Retractor(supervisor_id="token-7", provinces=frozenset({PROVINCE}))
    elsewhere = Retractor(supervisor_id="token-8", provinces=frozenset({"79"}))
    assert isinstance(retraction_of(find, ours, theirs, REQUEST, target_field="path.event_id"), RetractionEvent)
    refused = retraction_of(find, elsewhere, theirs, REQUEST, target_field="path.event_id")
    assert isinstance(refused, Refusal) and (refused.status, refused.rule) == (403, RETRACTION_FORBIDDEN)
