"""A participant's timeline in one scheme, and what it contributes to the aggregates.

Pure functions of the *set* of a participant's events (docs/aggregation.md, "What the figures are"): events are
ordered by (occurred_at, event_id); after registered/renewed the participant is active, after
lapsed/withdrawn inactive, and belongs to the locality of that event; months are calendar
months in Asia/Ho_Chi_Minh. The SQL in `service.adapters.postgres.aggregates` computes the same
facts with window functions; tests hold the two to each other.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime

from .identity import decode_personal_id
from .model import EnrolmentEvent, EnrolmentKind, reporting_month

UNKNOWN_SEX = "unknown"
UNKNOWN_BIRTH_YEAR = 0

# (scheme, locality_code, month, sex, birth_year) -> change of the month-end stock
StockKey = tuple[str, str, date, str, int]
# (scheme, locality_code, month, channel, agent_id, campaign or '')
FlowKey = tuple[str, str, date, str, str, str]


@dataclass(frozen=True)
class TimelineEvent:
    """The part of an enrolment event that a timeline needs (no identifiers)."""

    event_id: uuid.UUID
    scheme: str
    kind: EnrolmentKind
    occurred_at: datetime
    locality_code: str
    channel: str
    agent_id: str
    sex: str | None = None
    birth_year: int | None = None
    contribution_months: int | None = None
    contribution_vnd: int | None = None
    campaign: str | None = None

    @property
    def month(self) -> date:
        return reporting_month(self.occurred_at)

    @property
    def order(self) -> tuple[datetime, uuid.UUID]:
        return (self.occurred_at, self.event_id)

    @classmethod
    def from_event(cls, event: EnrolmentEvent) -> "TimelineEvent":
        p = event.participant
        sex = p.sex.value if p.sex else None
        birth_year = p.birth_year
        if p.personal_id:
            facts = decode_personal_id(p.personal_id)
            sex = sex or facts.sex.value
            birth_year = birth_year or facts.birth_year
        c = event.contribution
        return cls(
            event_id=event.event_id,
            scheme=event.scheme.value,
            kind=event.kind,
            occurred_at=event.occurred_at,
            locality_code=event.locality_code,
            channel=event.agent.channel.value,
            agent_id=event.agent.agent_id,
            sex=sex,
            birth_year=birth_year,
            contribution_months=c.months if c else None,
            contribution_vnd=c.amount_vnd if c else None,
            campaign=event.campaign,
        )


@dataclass
class FlowCounts:
    new_participants: int = 0
    reactivations: int = 0
    renewals: int = 0
    lapses: int = 0
    withdrawals: int = 0
    contributions: int = 0
    contribution_months: int = 0
    contribution_vnd: int = 0
    campaign_enrolments: int = 0

    def add(self, other: "FlowCounts", sign: int = 1) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + sign * getattr(other, f.name))

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def __bool__(self) -> bool:
        return any(self.as_tuple())


FLOW_COLUMNS = tuple(f.name for f in fields(FlowCounts))


@dataclass
class ParticipantFacts:
    """One participant's contribution to the aggregates (all schemes)."""

    stock: dict[StockKey, int]
    flows: dict[FlowKey, FlowCounts]


def person_attributes(events: Iterable[TimelineEvent]) -> tuple[str, int]:
    """Sex and birth year of a participant: from the latest event (by occurred_at, event_id)
    that carries each; 'unknown' / 0 when none does. Deterministic for a set of events."""
    ordered = sorted(events, key=lambda e: e.order)
    sex = next((e.sex for e in reversed(ordered) if e.sex), UNKNOWN_SEX)
    birth_year = next((e.birth_year for e in reversed(ordered) if e.birth_year), UNKNOWN_BIRTH_YEAR)
    return sex, birth_year


def derive(events: Iterable[TimelineEvent]) -> ParticipantFacts:
    """What one participant's events (any schemes, any order, duplicates allowed) contribute."""
    unique = {e.event_id: e for e in events}.values()
    sex, birth_year = person_attributes(unique)
    by_scheme: dict[str, list[TimelineEvent]] = defaultdict(list)
    for e in unique:
        by_scheme[e.scheme].append(e)
    stock: dict[StockKey, int] = {}
    flows: dict[FlowKey, FlowCounts] = defaultdict(FlowCounts)
    for scheme, scheme_events in by_scheme.items():
        scheme_events.sort(key=lambda e: e.order)
        _derive_flows(scheme_events, flows)
        for (locality, month), delta in _stock_changes(scheme_events).items():
            stock[(scheme, locality, month, sex, birth_year)] = delta
    return ParticipantFacts(stock=stock, flows={k: v for k, v in flows.items() if v})


def _derive_flows(ordered: list[TimelineEvent], flows: dict[FlowKey, FlowCounts]) -> None:
    active = ever_active = False
    for e in ordered:
        counts = flows[(e.scheme, e.locality_code, e.month, e.channel, e.agent_id, e.campaign or "")]
        now_active = e.kind.activates
        if now_active and not active:
            if ever_active:
                counts.reactivations += 1
            else:
                counts.new_participants += 1
            if e.campaign:
                counts.campaign_enrolments += 1
        if e.kind is EnrolmentKind.RENEWED and active:
            counts.renewals += 1
        if e.kind is EnrolmentKind.LAPSED and active:
            counts.lapses += 1
        if e.kind is EnrolmentKind.WITHDRAWN:
            counts.withdrawals += 1
        if e.contribution_vnd is not None:
            counts.contributions += 1
            counts.contribution_months += e.contribution_months or 0
            counts.contribution_vnd += e.contribution_vnd
        active = now_active
        ever_active = ever_active or now_active


def _stock_changes(ordered: list[TimelineEvent]) -> dict[tuple[str, date], int]:
    """Month-end state changes of one scheme: +1 where the participant is active at a month end
    in a locality and was not at the previous state, -1 where it stops being so."""
    month_end: dict[date, TimelineEvent] = {}
    for e in ordered:  # the last event of a month decides the state at its end
        month_end[e.month] = e
    changes: dict[tuple[str, date], int] = {}
    previous: str | None = None  # locality where active at the previous month end, or None
    for month in sorted(month_end):
        e = month_end[month]
        current = e.locality_code if e.kind.activates else None
        if current != previous:
            if previous is not None:
                changes[(previous, month)] = -1
            if current is not None:
                changes[(current, month)] = 1
        previous = current
    return changes
