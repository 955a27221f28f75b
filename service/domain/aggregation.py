"""The aggregate tables as a pure function of a set of events (no I/O).

The consumer maintains the same figures incrementally in PostgreSQL; this module is the
in-memory statement of what they must equal, used by tests and by anyone who wants to check
a figure by hand. Shape: table name -> {key tuple: value tuple}, keys and values in the
column order of the agg_* tables (migration 0003), rows whose values are all zero left out.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from .model import ConferenceEvent, EnrolmentEvent, Event, RetractionEvent, may_retract, reporting_month
from .participants import group_participants
from .timeline import TimelineEvent, derive

Tables = dict[str, dict[tuple, tuple]]

TABLE_KEYS = {
    "agg_active_changes": ("locality_code", "scheme", "month"),
    "agg_active_changes_by_person": ("locality_code", "scheme", "month", "sex", "birth_year"),
    "agg_flows": ("locality_code", "scheme", "month", "channel", "agent_id"),
    "agg_campaign_enrolments": ("locality_code", "scheme", "month", "campaign"),
    "agg_outreach": ("locality_code", "month", "campaign"),
}
# The flows of people (into, back into, kept in and out of a scheme), then what they paid and
# how many enrolled in a campaign: the fields of timeline.FlowCounts, the columns of agg_flows.
PEOPLE_FLOWS = ("new_participants", "reactivations", "renewals", "lapses", "withdrawals")
FLOWS = PEOPLE_FLOWS + ("contributions", "contribution_months", "contribution_vnd", "campaign_enrolments")
TABLE_VALUES = {
    "agg_active_changes": ("delta",),
    "agg_active_changes_by_person": ("delta",),
    "agg_flows": FLOWS,
    "agg_campaign_enrolments": ("new_participants", "reactivations"),
    "agg_outreach": ("conferences", "attendees", "cost_vnd"),
}


def participant_links(event: EnrolmentEvent) -> tuple[tuple[str, str], tuple[str, str] | None]:
    """(primary identifier, linked identifier or None): personal id first, SI number linked."""
    p = event.participant
    if p.personal_id:
        return ("pid", p.personal_id), (("sin", p.si_number) if p.si_number else None)
    assert p.si_number, "an enrolment names a personal id or an SI number (the contract)"
    return ("sin", p.si_number), None


# A locality -> the codes of it and its ancestors (the locality tree); none known by default.
Places = Callable[[str], Iterable[str]]


def _only_itself(code: str) -> Iterable[str]:
    return (code,)


def counted(events: Iterable[Event], places: Places = _only_itself) -> list[Event]:
    """The events that count: the set (duplicates once) minus the retractions and the events a
    retraction takes out, where its sender may retract them (`model.may_retract`)."""
    unique = {e.event_id: e for e in events}
    retracted = {r.retracts for r in unique.values() if isinstance(r, RetractionEvent)
                 and isinstance(target := unique.get(r.retracts), (EnrolmentEvent, ConferenceEvent))
                 and may_retract(r.retractor, target.agent.agent_id, places(target.locality_code))}
    return [e for e in unique.values() if not isinstance(e, RetractionEvent) and e.event_id not in retracted]


def aggregate(events: Iterable[Event], places: Places = _only_itself) -> Tables:
    unique = counted(events, places)
    enrolments = [e for e in unique if isinstance(e, EnrolmentEvent)]
    participant_of = group_participants(participant_links(e) for e in enrolments)
    per_participant: dict[int, list[TimelineEvent]] = defaultdict(list)
    for e in enrolments:
        per_participant[participant_of[participant_links(e)[0]]].append(TimelineEvent.from_event(e))

    sums: dict[str, dict[tuple, list[int]]] = {t: defaultdict(lambda t=t: [0] * len(TABLE_VALUES[t])) for t in TABLE_KEYS}  # type: ignore[misc]
    for timeline in per_participant.values():
        facts = derive(timeline)
        for (scheme, locality, month, sex, birth_year), delta in facts.stock.items():
            sums["agg_active_changes"][(locality, scheme, month)][0] += delta
            sums["agg_active_changes_by_person"][(locality, scheme, month, sex, birth_year)][0] += delta
        for (scheme, locality, month, channel, agent_id, campaign), counts in facts.flows.items():
            _add(sums["agg_flows"][(locality, scheme, month, channel, agent_id)], counts.as_tuple())
            if campaign:
                _add(sums["agg_campaign_enrolments"][(locality, scheme, month, campaign)],
                     (counts.new_participants, counts.reactivations))
    for c in unique:
        if isinstance(c, ConferenceEvent):
            key = (c.locality_code, reporting_month(c.occurred_at), c.campaign or "")
            _add(sums["agg_outreach"][key], (1, c.attendees, c.cost_vnd))
    return {t: {k: tuple(v) for k, v in rows.items() if any(v)} for t, rows in sums.items()}


def _add(target: list[int], values: tuple[int, ...]) -> None:
    for i, v in enumerate(values):
        target[i] += v

