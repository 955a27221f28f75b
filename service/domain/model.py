"""Event types of the enrolment reporting domain. Pure data: no I/O."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from collections.abc import Iterable
from typing import NamedTuple
from zoneinfo import ZoneInfo

# Periods are calendar months in Vietnam's time (docs/aggregation.md, "What the figures are").
REPORTING_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Scheme(StrEnum):
    BHXH_BB = "BHXH_BB"  # compulsory social insurance
    BHXH_TN = "BHXH_TN"  # voluntary social insurance
    BHTN = "BHTN"  # unemployment insurance
    BHYT_HGD = "BHYT_HGD"  # household health insurance
    BHYT_KHAC = "BHYT_KHAC"  # health insurance, other groups


class EnrolmentKind(StrEnum):
    REGISTERED = "registered"
    RENEWED = "renewed"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"

    @property
    def activates(self) -> bool:
        """After registered/renewed the participant is active; after lapsed/withdrawn not."""
        return self in (EnrolmentKind.REGISTERED, EnrolmentKind.RENEWED)


CONFERENCE_HELD = "conference_held"
RETRACTED = "retracted"  # a correction: names an earlier event that must not count
EVENT_KINDS = tuple(k.value for k in EnrolmentKind) + (CONFERENCE_HELD, RETRACTED)
# The three stores of events (enrolments, conferences, retractions): which one a decoded event
# goes to, and the kinds a retraction's target is judged by.
ENROLMENT, CONFERENCE, RETRACTION = "enrolment", "conference", "retraction"


class RetractionReason(StrEnum):
    """Why an event is retracted (the data-quality report counts by these)."""

    WRONG_PERSON = "wrong_person"  # the event names someone else
    WRONG_LOCALITY = "wrong_locality"  # recorded in the wrong commune
    WRONG_DETAILS = "wrong_details"  # wrong scheme, kind, date, amount or attendance
    DUPLICATE_ENTRY = "duplicate_entry"  # the same happening entered twice under two event ids
    DID_NOT_HAPPEN = "did_not_happen"
    OTHER = "other"


class Channel(StrEnum):
    POST_OFFICE = "post_office"
    COLLECTION_ORGANISATION = "collection_organisation"
    SOCIAL_INSURANCE_OFFICE = "social_insurance_office"
    EMPLOYER = "employer"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class SupportGroup(StrEnum):
    """State support for voluntary BHXH, as a share of 22 % of the poverty line."""

    POOR = "poor"
    NEAR_POOR = "near_poor"
    ETHNIC_MINORITY = "ethnic_minority"
    OTHER = "other"


@dataclass(frozen=True)
class Agent:
    agent_id: str
    channel: Channel


@dataclass(frozen=True)
class Participant:
    personal_id: str | None = None  # 12-digit số định danh cá nhân
    si_number: str | None = None  # 10-digit mã số BHXH (pre-2025 key)
    sex: Sex | None = None
    birth_year: int | None = None


@dataclass(frozen=True)
class Contribution:
    months: int
    amount_vnd: int
    chosen_income_vnd: int | None = None
    support_group: SupportGroup | None = None


@dataclass(frozen=True)
class EnrolmentEvent:
    event_id: uuid.UUID
    kind: EnrolmentKind
    occurred_at: datetime
    locality_code: str
    agent: Agent
    scheme: Scheme
    participant: Participant
    contribution: Contribution | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class ConferenceEvent:
    event_id: uuid.UUID
    occurred_at: datetime
    locality_code: str
    agent: Agent
    attendees: int
    cost_vnd: int
    organiser: str
    campaign: str | None = None

    kind = CONFERENCE_HELD


@dataclass(frozen=True)
class Retractor:
    """Who retracts: an agent (its own events) or a supervisor (events in its provinces)."""

    agent: Agent | None = None
    supervisor_id: str | None = None
    provinces: frozenset[str] = frozenset()  # a supervisor's


@dataclass(frozen=True)
class RetractionEvent:
    """A correction: the event `retracts` names does not count, whatever the arrival order.
    `locality_code` is the commune of the retracted event as the sender recorded it."""

    event_id: uuid.UUID
    occurred_at: datetime
    locality_code: str
    retractor: Retractor
    retracts: uuid.UUID
    reason: RetractionReason
    note: str | None = None

    kind = RETRACTED

    @property
    def agent(self) -> Agent | None:
        return self.retractor.agent


Event = EnrolmentEvent | ConferenceEvent | RetractionEvent


def may_retract(retractor: Retractor, target_agent_id: str | None, places: Iterable[str]) -> bool:
    """The rule of corrections: the agent that sent the event (`target_agent_id`), or a
    supervisor of one of `places` (the event's locality and its ancestors). A retraction itself
    is never retracted: its callers say so first."""
    if retractor.agent is not None:
        return retractor.agent.agent_id == target_agent_id
    return not retractor.provinces.isdisjoint(places)


@dataclass(frozen=True)
class KnownEvent:
    """An event accepted already (stored, or in the outbox on its way), as a retraction of it
    is judged: by whom, where."""

    event_id: uuid.UUID
    is_retraction: bool
    agent_id: str | None  # the sender (None: a supervisor's retraction)
    locality_code: str
    places: frozenset[str]  # the locality and its ancestors (locality_closure)


class PlainEnrolment(NamedTuple):
    """An enrolment event's fields as plain values (enums as their text, nothing nested): what
    the consumer stores. Its hot path decodes valid records straight into these, skipping the
    four frozen domain objects (event, agent, participant, contribution) of each event."""
    event_id: uuid.UUID
    kind: str
    occurred_at: datetime
    locality_code: str
    channel: str
    agent_id: str
    scheme: str
    personal_id: str | None
    si_number: str | None
    sex: str | None
    birth_year: int | None
    contribution_months: int | None
    contribution_vnd: int | None
    campaign: str | None

    @classmethod
    def of(cls, event: EnrolmentEvent) -> PlainEnrolment:
        p, c = event.participant, event.contribution
        return cls(
            event_id=event.event_id, kind=event.kind.value, occurred_at=event.occurred_at,
            locality_code=event.locality_code, channel=event.agent.channel.value,
            agent_id=event.agent.agent_id, scheme=event.scheme.value, personal_id=p.personal_id,
            si_number=p.si_number, sex=p.sex.value if p.sex else None, birth_year=p.birth_year,
            contribution_months=c.months if c else None, contribution_vnd=c.amount_vnd if c else None,
            campaign=event.campaign,
        )


def reporting_month(moment: datetime) -> date:
    """First day of the calendar month, in Asia/Ho_Chi_Minh, that `moment` falls in."""
    if moment.tzinfo is None:
        raise ValueError("occurred_at must carry a UTC offset")
    local = moment.astimezone(REPORTING_TZ)
    return date(local.year, local.month, 1)
