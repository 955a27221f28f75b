"""The event contract: marshmallow schemas for the API body and for the Kafka record.

`EventBodySchema` is what an agent app posts. `TopicRecordSchema` is what the topic carries:
the body plus the envelope the API adds (schema version, the agent taken from the token, the
receipt time). Both load into the domain types of `service.domain.model`.

Only rules that hold whatever the time and the reference data live here. Rules that need
"now" (no future events) or data (the locality exists, contribution plausibility by decree)
are applied by the API on top of these schemas.

`schemas/*.json` are generated from these classes (`enrolment contract export`); a test
fails when they drift apart.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from ..domain.identity import decode_personal_id
from ..domain.model import (
    CONFERENCE_HELD,
    EVENT_KINDS,
    RETRACTED,
    Agent,
    Channel,
    ConferenceEvent,
    Contribution,
    EnrolmentEvent,
    EnrolmentKind,
    Event,
    Participant,
    RetractionEvent,
    RetractionReason,
    Retractor,
    Scheme,
    Sex,
    SupportGroup,
)
from . import rules
from .base import BaseSchema

SCHEMA_VERSION = 1
PARTICIPANT_IDS = ("personal_id", "si_number")  # an event names its participant by one or both


def _unicode_text(value: str) -> None:
    if not rules.is_unicode_text(value):
        raise ValidationError("must be valid Unicode text (no lone surrogates)")


_PLAIN_TEXT = rules.PLAIN_TEXT.validator()


def no_control_characters(value: str) -> str:
    """The rule of every free text (`rules.PLAIN_TEXT`, Unicode), for other schemas too."""
    _unicode_text(value)
    return _PLAIN_TEXT(value)


def _text(length: tuple[int, int], **kwargs: Any) -> fields.String:
    # The pattern validator itself (not a wrapper): apispec publishes its pattern.
    return fields.String(validate=[validate.Length(min=length[0], max=length[1]), _PLAIN_TEXT, _unicode_text],
                         **kwargs)


def _integer(bounds: rules.Bounds, **kwargs: Any) -> fields.Integer:
    # strict: a JSON number with a fraction or an exponent (4000000.9, 12.0, 1e3) or a numeric
    # string ("12") is refused, never truncated or cast; marshmallow refuses booleans anyway.
    return fields.Integer(strict=True, validate=bounds.validator(), **kwargs)


class DateTime(fields.DateTime):
    """An RFC 3339 date-time with a UTC offset, dated within the contract's years
    (`rules.DATE_TIME`); ISO 8601's other spellings are refused, not reinterpreted."""

    def __init__(self, **kwargs: Any):
        metadata = {"pattern": rules.DATE_TIME.source, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if type(value) is not str or not rules.DATE_TIME.matches(value):
            raise ValidationError(rules.DATE_TIME.error)
        return rules.parse_date_time(value)


class CanonicalUUID(fields.UUID):
    """A UUID in its canonical hyphenated form only (not braces, URNs or bare hex)."""

    def __init__(self, **kwargs: Any):
        metadata = {"pattern": rules.UUID.source, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> uuid.UUID:
        if type(value) is not str or not rules.UUID.matches(value):
            raise ValidationError(rules.UUID.error)
        return uuid.UUID(value)


class ParticipantSchema(BaseSchema):
    personal_id = fields.String(validate=rules.PERSONAL_ID.validator(), metadata={"description": "12-digit personal identification number (số định danh cá nhân)"})
    si_number = fields.String(validate=rules.SI_NUMBER.validator(), metadata={"description": "10-digit social insurance number (mã số BHXH)"})
    sex = fields.Enum(Sex, by_value=True)
    birth_year = _integer(rules.BIRTH_YEAR)

    @validates_schema
    def _identified_and_consistent(self, data: dict, **_: Any) -> None:
        if not any(data.get(name) for name in PARTICIPANT_IDS):
            raise ValidationError(
                "name the participant by personal_id, si_number or both", "personal_id"
            )
        pid = data.get("personal_id")
        if not pid:
            return
        facts = decode_personal_id(pid)
        errors: dict[str, list[str]] = {}
        if data.get("sex") is not None and data["sex"] != facts.sex:
            errors["sex"] = [f"contradicts the sex encoded in personal_id ({facts.sex.value})"]
        if data.get("birth_year") is not None and data["birth_year"] != facts.birth_year:
            errors["birth_year"] = [
                f"contradicts the birth year encoded in personal_id ({facts.birth_year})"
            ]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict, **_: Any) -> Participant:
        return Participant(**data)


class ContributionSchema(BaseSchema):
    months = _integer(rules.MONTHS, required=True)
    amount_vnd = _integer(rules.AMOUNT_VND, required=True)
    chosen_income_vnd = _integer(rules.AMOUNT_VND)
    support_group = fields.Enum(SupportGroup, by_value=True)

    @post_load
    def _make(self, data: dict, **_: Any) -> Contribution:
        return Contribution(**data)


class ConferenceSchema(BaseSchema):
    attendees = _integer(rules.ATTENDEES, required=True)
    cost_vnd = _integer(rules.COST_VND, required=True)
    organiser = _text(rules.ORGANISER_LENGTH, required=True)


class AgentSchema(BaseSchema):
    agent_id = _text(rules.AGENT_ID_LENGTH, required=True)
    channel = fields.Enum(Channel, by_value=True, required=True)


def retraction_reason() -> fields.Enum:
    return fields.Enum(RetractionReason, by_value=True, required=True)


def retraction_note() -> fields.String:
    return _text(rules.RETRACTION_NOTE_LENGTH, metadata={"description": "why, in words (no personal ids)"})


class RetractionSchema(BaseSchema):
    event_id = CanonicalUUID(required=True, metadata={"description": "the event_id of the event retracted"})
    reason = retraction_reason()
    note = retraction_note()


class SupervisorSchema(BaseSchema):
    supervisor_id = _text(rules.AGENT_ID_LENGTH, required=True, metadata={"description": "the supervisor token"})
    provinces = fields.List(fields.String(validate=rules.PROVINCE_CODE.validator()), required=True,
                            validate=validate.Length(*rules.SUPERVISOR_PROVINCES),
                            metadata={"description": "the provinces whose events the supervisor may retract"})


ENROLMENT_ONLY = ("scheme", "participant", "contribution")
# What each kind must not carry (`retraction` is allowed, and required, only for retracted).
NOT_FOR_RETRACTED = ("scheme", "participant", "contribution", "conference", "campaign")


class EventBodySchema(BaseSchema):
    """One event as an agent app posts it. Loads to a dict; `build_event` adds the agent."""

    event_id = CanonicalUUID(required=True, metadata={"description": "client-generated idempotency key"})
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    occurred_at = DateTime(required=True, metadata={"description": "moment in the field: RFC 3339 with a UTC offset"})
    locality_code = fields.String(required=True, validate=rules.LOCALITY_CODE.validator())
    scheme = fields.Enum(Scheme, by_value=True)
    participant = fields.Nested(ParticipantSchema)
    contribution = fields.Nested(ContributionSchema)
    conference = fields.Nested(ConferenceSchema)
    campaign = _text(rules.CAMPAIGN_LENGTH)
    retraction = fields.Nested(RetractionSchema, metadata={
        "description": "kind retracted only: the event this one retracts, and why"})

    @validates_schema
    def _fields_fit_kind(self, data: dict, **_: Any) -> None:
        kind = data.get("kind")
        if kind is None:
            return
        errors: dict[str, list[str]] = {}
        if kind != RETRACTED and "retraction" in data:
            errors["retraction"] = [f"not allowed for {kind}: only retracted names an event to retract"]
        if kind == RETRACTED:
            if "retraction" not in data:
                errors["retraction"] = ["required for retracted"]
            elif data["retraction"]["event_id"] == data.get("event_id"):
                errors["retraction.event_id"] = ["an event cannot retract itself"]
            for name in NOT_FOR_RETRACTED:
                if name in data:
                    errors[name] = ["not allowed for retracted"]
        elif kind == CONFERENCE_HELD:
            if "conference" not in data:
                errors["conference"] = ["required for conference_held"]
            for name in ENROLMENT_ONLY:
                if name in data:
                    errors[name] = ["not allowed for conference_held"]
        else:
            for name in ("scheme", "participant"):
                if name not in data:
                    errors[name] = [f"required for {kind}"]
            if "conference" in data:
                errors["conference"] = [f"not allowed for {kind}"]
            if "contribution" in data and not EnrolmentKind(kind).activates:
                errors["contribution"] = [f"not allowed for {kind}: only registered and renewed carry a contribution"]
        if errors:
            raise ValidationError(errors)


class TopicRecordSchema(EventBodySchema):
    """One record on the events topic: the posted body plus the API's envelope. Who sent it:
    `agent`, except a retraction made by a supervisor, which carries `supervisor` instead."""

    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    agent = fields.Nested(AgentSchema, metadata={"description": "the agent who sent the event (every kind "
                                                                "but a supervisor's retraction)"})
    supervisor = fields.Nested(SupervisorSchema, metadata={"description": "kind retracted only, instead of "
                                                                          "agent: the supervisor who retracted"})
    received_at = DateTime(required=True)

    @validates_schema
    def _sender(self, data: dict, **_: Any) -> None:
        if data.get("kind") == RETRACTED:
            if ("agent" in data) == ("supervisor" in data):
                raise ValidationError("a retraction carries exactly one of agent and supervisor", "agent")
        elif "agent" not in data:
            raise ValidationError("Missing data for required field.", "agent")
        elif "supervisor" in data:
            raise ValidationError("only a retraction is made by a supervisor", "supervisor")

    @post_load
    def _make(self, data: dict, **_: Any) -> Event:
        if "supervisor" in data:
            sup = data["supervisor"]
            return build_retraction(data, Retractor(supervisor_id=sup["supervisor_id"],
                                                    provinces=frozenset(sup["provinces"])))
        agent = data["agent"]  # `_sender`: every record without a supervisor names its agent
        return build_event(data, Agent(agent_id=agent["agent_id"], channel=agent["channel"]))


_ENROLMENT_KINDS = {k.value: k for k in EnrolmentKind}  # a dict lookup: EnrolmentKind(value) is ~5x slower


def build_retraction(data: dict, retractor: Retractor) -> RetractionEvent:
    r = data["retraction"]
    return RetractionEvent(event_id=data["event_id"], occurred_at=data["occurred_at"],
                           locality_code=data["locality_code"], retractor=retractor, retracts=r["event_id"],
                           reason=r["reason"], note=r.get("note"))


def build_event(data: dict, agent: Agent) -> Event:
    """A domain event from a loaded body (EventBodySchema) and the agent who sent it."""
    if data["kind"] == RETRACTED:
        return build_retraction(data, Retractor(agent=agent))
    if data["kind"] == CONFERENCE_HELD:
        return build_conference(data, agent)
    return EnrolmentEvent(
        kind=_ENROLMENT_KINDS[data["kind"]],
        scheme=data["scheme"],
        participant=data["participant"],
        contribution=data.get("contribution"),
        **_common_fields(data, agent),
    )


def build_conference(data: dict, agent: Agent) -> ConferenceEvent:
    """`build_event` of a loaded conference body."""
    conf = data["conference"]
    return ConferenceEvent(
        attendees=conf["attendees"], cost_vnd=conf["cost_vnd"], organiser=conf["organiser"],
        **_common_fields(data, agent),
    )


def _common_fields(data: dict, agent: Agent) -> dict[str, Any]:
    return dict(
        event_id=data["event_id"],
        occurred_at=data["occurred_at"],
        locality_code=data["locality_code"],
        agent=agent,
        campaign=data.get("campaign"),
    )


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def record_dict(event: Event, received_at: datetime) -> dict:
    """The JSON object the topic carries for `event` (inverse of TopicRecordSchema.load)."""
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": str(event.event_id),
        "kind": str(event.kind),
        "occurred_at": event.occurred_at.isoformat(),
        "locality_code": event.locality_code,
    }
    if event.agent is not None:
        out["agent"] = {"agent_id": event.agent.agent_id, "channel": event.agent.channel.value}
    out["received_at"] = received_at.isoformat()
    if isinstance(event, RetractionEvent):
        if event.agent is None:
            out["supervisor"] = {"supervisor_id": event.retractor.supervisor_id,
                                 "provinces": sorted(event.retractor.provinces)}
        out["retraction"] = _drop_none({"event_id": str(event.retracts), "reason": event.reason.value,
                                        "note": event.note})
        return out
    if event.campaign is not None:
        out["campaign"] = event.campaign
    if isinstance(event, ConferenceEvent):
        out["conference"] = {
            "attendees": event.attendees,
            "cost_vnd": event.cost_vnd,
            "organiser": event.organiser,
        }
        return out
    p = event.participant
    out["scheme"] = event.scheme.value
    out["participant"] = _drop_none(
        {
            "personal_id": p.personal_id,
            "si_number": p.si_number,
            "sex": p.sex.value if p.sex else None,
            "birth_year": p.birth_year,
        }
    )
    c = event.contribution
    if c is not None:
        out["contribution"] = _drop_none(
            {
                "months": c.months,
                "amount_vnd": c.amount_vnd,
                "chosen_income_vnd": c.chosen_income_vnd,
                "support_group": c.support_group.value if c.support_group else None,
            }
        )
    return out


def encode_record(event: Event, received_at: datetime) -> bytes:
    return orjson.dumps(record_dict(event, received_at))  # compact UTF-8, as json.dumps(separators, ensure_ascii=False)


_TOPIC_RECORD = TopicRecordSchema()


# What decoding a record may raise: anything. Decoding, validating and making the row is pure
# computation on the record's bytes (no I/O), so whatever it raises (ValidationError, orjson's
# JSONDecodeError, anything a future rule might raise) comes from that record: its poison.
POISON = (Exception,)


def decode_record(value: bytes) -> Event:
    """Parse and validate one topic record. Raises ValueError (orjson.JSONDecodeError: not
    JSON, nested deeper than 1,024, NaN, a lone surrogate) or ValidationError on poison."""
    return _TOPIC_RECORD.load(orjson.loads(value))
