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

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from marshmallow import ValidationError, fields, post_load, validate, validates, validates_schema

from ..domain.identity import decode_personal_id
from ..domain.model import (
    CONFERENCE_HELD,
    EVENT_KINDS,
    Agent,
    Channel,
    ConferenceEvent,
    Contribution,
    EnrolmentEvent,
    EnrolmentKind,
    Event,
    Participant,
    Scheme,
    Sex,
    SupportGroup,
)
from .base import BaseSchema

SCHEMA_VERSION = 1
# Any single amount above a trillion đồng is a typo; the bound also keeps sums in bigint.
MAX_VND = 10**12
EARLIEST_OCCURRED_AT = datetime(1995, 1, 1, tzinfo=UTC)

# Lone UTF-16 surrogates ("\ud800" escapes in JSON) cannot be encoded as UTF-8: neither
# published nor stored, so they are refused with the control characters.
no_control_characters = validate.Regexp(r"^[^\x00-\x1f\x7f\ud800-\udfff]*$",
                                        error="must not contain control characters or lone surrogates")
digits = lambda n: validate.Regexp(rf"^[0-9]{{{n}}}$", error=f"must be exactly {n} digits")  # noqa: E731


class ParticipantSchema(BaseSchema):
    personal_id = fields.String(validate=digits(12), metadata={"description": "12-digit personal identification number (số định danh cá nhân)"})
    si_number = fields.String(validate=digits(10), metadata={"description": "10-digit social insurance number (mã số BHXH)"})
    sex = fields.Enum(Sex, by_value=True)
    birth_year = fields.Integer(validate=validate.Range(min=1900, max=2100))

    @validates_schema
    def _identified_and_consistent(self, data: dict, **_: Any) -> None:
        if not data.get("personal_id") and not data.get("si_number"):
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
    months = fields.Integer(required=True, validate=validate.Range(min=1, max=120))
    amount_vnd = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_VND))
    chosen_income_vnd = fields.Integer(validate=validate.Range(min=1, max=MAX_VND))
    support_group = fields.Enum(SupportGroup, by_value=True)

    @post_load
    def _make(self, data: dict, **_: Any) -> Contribution:
        return Contribution(**data)


class ConferenceSchema(BaseSchema):
    attendees = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000))
    cost_vnd = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_VND))
    organiser = fields.String(required=True, validate=[validate.Length(min=1, max=200), no_control_characters])


class AgentSchema(BaseSchema):
    agent_id = fields.String(required=True, validate=[validate.Length(min=1, max=64), no_control_characters])
    channel = fields.Enum(Channel, by_value=True, required=True)


ENROLMENT_ONLY = ("scheme", "participant", "contribution")


class EventBodySchema(BaseSchema):
    """One event as an agent app posts it. Loads to a dict; `build_event` adds the agent."""

    event_id = fields.UUID(required=True, metadata={"description": "client-generated idempotency key"})
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    occurred_at = fields.AwareDateTime(
        required=True, metadata={"description": "moment in the field, ISO 8601 with a UTC offset"}
    )
    locality_code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{5}$", error="must be a 5-digit commune/ward code"))
    scheme = fields.Enum(Scheme, by_value=True)
    participant = fields.Nested(ParticipantSchema)
    contribution = fields.Nested(ContributionSchema)
    conference = fields.Nested(ConferenceSchema)
    campaign = fields.String(validate=[validate.Length(min=1, max=100), no_control_characters])

    @validates("occurred_at")
    def _not_before_1995(self, value: datetime, **_: Any) -> None:
        if value < EARLIEST_OCCURRED_AT:
            raise ValidationError("must not be before 1995-01-01")

    @validates_schema
    def _fields_fit_kind(self, data: dict, **_: Any) -> None:
        kind = data.get("kind")
        if kind is None:
            return
        errors: dict[str, list[str]] = {}
        if kind == CONFERENCE_HELD:
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
    """One record on the events topic: the posted body plus the API's envelope."""

    schema_version = fields.Integer(required=True, validate=validate.Equal(SCHEMA_VERSION))
    agent = fields.Nested(AgentSchema, required=True)
    received_at = fields.AwareDateTime(required=True)

    @post_load
    def _make(self, data: dict, **_: Any) -> Event:
        agent = data["agent"]
        return build_event(data, Agent(agent_id=agent["agent_id"], channel=agent["channel"]))


_ENROLMENT_KINDS = {k.value: k for k in EnrolmentKind}  # a dict lookup: EnrolmentKind(value) is ~5x slower


def build_event(data: dict, agent: Agent) -> Event:
    """A domain event from a loaded body (EventBodySchema) and the agent who sent it."""
    common = dict(
        event_id=data["event_id"],
        occurred_at=data["occurred_at"],
        locality_code=data["locality_code"],
        agent=agent,
        campaign=data.get("campaign"),
    )
    if data["kind"] == CONFERENCE_HELD:
        conf = data["conference"]
        return ConferenceEvent(
            attendees=conf["attendees"], cost_vnd=conf["cost_vnd"], organiser=conf["organiser"], **common
        )
    return EnrolmentEvent(
        kind=_ENROLMENT_KINDS[data["kind"]],
        scheme=data["scheme"],
        participant=data["participant"],
        contribution=data.get("contribution"),
        **common,
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
        "agent": {"agent_id": event.agent.agent_id, "channel": event.agent.channel.value},
        "received_at": received_at.isoformat(),
    }
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


def decode_record(value: bytes) -> Event:
    """Parse and validate one topic record. Raises ValueError / ValidationError on poison."""
    return _TOPIC_RECORD.load(json.loads(value))
