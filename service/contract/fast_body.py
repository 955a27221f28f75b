"""Posted body -> the same dict `EventBodySchema().load()` gives, fast, for plainly valid bodies;
topic record -> what `decode_record()` gives, enrolments as plain values (`fast_record`), for the
consumer.

`EventBodySchema.load` costs ~65 µs an event on these machines, the largest part of the API's
CPU per event. This module accepts only bodies whose every field has the plain JSON shape
(strings as strings, integers as integers, no nulls, no unknown keys) and that pass every rule
of the schema; for anything else it answers None and the caller asks marshmallow, which stays
the definition of the contract and the source of every error message. A differential test
(`tests/ingestion/test_fast_body.py`, `tests/aggregation/test_fast_record.py`) holds them
together: whatever this accepts, marshmallow accepts with an equal result.
"""
from __future__ import annotations

import uuid
from typing import Any

import orjson

from ..domain.identity import decode_personal_id
from ..domain.model import (
    CONFERENCE_HELD, Agent, Channel, ConferenceEvent, Contribution, EnrolmentKind, Participant, PlainEnrolment, Scheme,
    Sex, SupportGroup,
)
from . import rules
from .events import (
    ENROLMENT_ONLY, SCHEMA_VERSION, AgentSchema, ConferenceSchema, ContributionSchema, EventBodySchema,
    ParticipantSchema, TopicRecordSchema, build_conference,
)

# Every field name and enum below is derived from the marshmallow schemas and the domain enums
# that define the contract, never re-typed.
_BODY_FIELDS = EventBodySchema().fields
# A retraction is marshmallow's to load: a body naming one is not for this module.
_TOP = frozenset(_BODY_FIELDS) - {"retraction"}
_REQUIRED = tuple(name for name, field in _BODY_FIELDS.items() if field.required)
_PARTICIPANT = frozenset(ParticipantSchema().fields)
_CONTRIBUTION = frozenset(ContributionSchema().fields)
_CONFERENCE = frozenset(ConferenceSchema().fields)
_ENROLMENT_ONLY = frozenset(ENROLMENT_ONLY)
_SCHEMES = {s.value: s for s in Scheme}
_SEXES = {s.value: s for s in Sex}
_SUPPORT = {s.value: s for s in SupportGroup}
_ACTIVATING = frozenset(k.value for k in EnrolmentKind if k.activates)
_ENROLMENT_KINDS = frozenset(k.value for k in EnrolmentKind)
# The API's envelope of an agent's record; a supervisor's (a retraction) is marshmallow's.
_ENVELOPE = frozenset(TopicRecordSchema().fields) - frozenset(_BODY_FIELDS) - {"supervisor"}
_AGENT = frozenset(AgentSchema().fields)
_CHANNELS = {c.value: c for c in Channel}


def _date_time(value: Any):
    """The aware datetime of a contract date-time string, else None."""
    return rules.parse_date_time(value) if type(value) is str and rules.DATE_TIME.matches(value) else None


def fast_record(value: bytes | dict) -> PlainEnrolment | ConferenceEvent | None:
    """A topic record (the body plus the API's envelope) decoded: an enrolment as a
    `PlainEnrolment` equal to `PlainEnrolment.of(decode_record(value))`, a conference as the
    event `decode_record` gives; or None when marshmallow must decide. Every free text passes
    `rules.is_plain_text` and every number a bound below 2**63, so what this accepts is storable as it is.
    `value` may be the record already parsed by orjson (the worker digests it first); this
    takes the envelope's keys out of that dict."""
    if isinstance(value, dict):
        record = value
    else:
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:  # not JSON, or JSON orjson refuses (NaN, huge integers): marshmallow decides
            return None
    if type(record) is not dict or not _ENVELOPE <= record.keys():
        return None
    version, agent, received_at = record.pop("schema_version"), record.pop("agent"), record.pop("received_at")
    if type(version) is not int or version != SCHEMA_VERSION or type(agent) is not dict \
            or agent.keys() != _AGENT or not rules.is_plain_text(agent["agent_id"], rules.AGENT_ID_LENGTH) \
            or type(agent["channel"]) is not str or agent["channel"] not in _CHANNELS \
            or _date_time(received_at) is None:
        return None
    checked = _checked(record)
    if checked is None:
        return None
    common, parts = checked
    if parts is None:  # a conference
        return build_conference(common, Agent(agent["agent_id"], _CHANNELS[agent["channel"]]))
    scheme, p, c = parts
    return PlainEnrolment(
        event_id=common["event_id"], kind=common["kind"], occurred_at=common["occurred_at"],
        locality_code=common["locality_code"], channel=agent["channel"], agent_id=agent["agent_id"],
        scheme=scheme, personal_id=p.get("personal_id"), si_number=p.get("si_number"), sex=p.get("sex"),
        birth_year=p.get("birth_year"), contribution_months=c["months"] if c else None,
        contribution_vnd=c["amount_vnd"] if c else None, campaign=common.get("campaign"),
    )


def fast_body(body: Any) -> dict | None:
    """The loaded body, or None when marshmallow must decide (maybe it is valid, maybe not)."""
    checked = _checked(body)
    if checked is None:
        return None
    out, parts = checked
    if parts is None:  # a conference
        return out
    scheme, p, c = parts
    out["scheme"] = _SCHEMES[scheme]
    out["participant"] = Participant(**{**p, "sex": _SEXES[p["sex"]]} if "sex" in p else p)
    if c is not None:
        out["contribution"] = Contribution(**{**c, "support_group": _SUPPORT[c["support_group"]]}
                                           if "support_group" in c else c)
    return out


def _checked(body: Any) -> tuple[dict, tuple[str, dict, dict | None] | None] | None:
    """(the loaded fields every event has, with a conference's `conference`; for an enrolment,
    (scheme, participant, contribution or None) as checked JSON values, else None), or None."""
    out = _common(body)
    if out is None:
        return None
    kind = out["kind"]
    if kind == CONFERENCE_HELD:
        return None if _conference(body, out) is None else (out, None)
    if kind not in _ENROLMENT_KINDS:
        return None
    parts = _enrolment(body, kind)
    return None if parts is None else (out, parts)


def _common(body: Any) -> dict | None:
    """The loaded fields every event has (and its campaign), or None."""
    if type(body) is not dict or not body.keys() <= _TOP:
        return None
    for name in _REQUIRED:
        if name not in body:
            return None
    event_id, kind, occurred_at, locality = body["event_id"], body["kind"], body["occurred_at"], body["locality_code"]
    if type(event_id) is not str or type(kind) is not str or not rules.UUID.matches(event_id) \
            or type(locality) is not str or not rules.LOCALITY_CODE.matches(locality):
        return None
    moment = _date_time(occurred_at)
    if moment is None:
        return None
    out: dict[str, Any] = {"event_id": uuid.UUID(event_id), "kind": kind, "occurred_at": moment,
                           "locality_code": locality}
    if "campaign" in body:
        if not rules.is_plain_text(body["campaign"], rules.CAMPAIGN_LENGTH):
            return None
        out["campaign"] = body["campaign"]
    return out


def _conference(body: dict, out: dict) -> dict | None:
    conf = body.get("conference")
    if not _ENROLMENT_ONLY.isdisjoint(body) or type(conf) is not dict \
            or conf.keys() != _CONFERENCE or not rules.ATTENDEES.holds(conf["attendees"]) \
            or not rules.COST_VND.holds(conf["cost_vnd"]) \
            or not rules.is_plain_text(conf["organiser"], rules.ORGANISER_LENGTH):
        return None
    out["conference"] = {"attendees": conf["attendees"], "cost_vnd": conf["cost_vnd"], "organiser": conf["organiser"]}
    return out


def _enrolment(body: dict, kind: str) -> tuple[str, dict, dict | None] | None:
    """(scheme, participant, contribution or None), each as checked JSON values, or None."""
    scheme, p = body.get("scheme"), body.get("participant")
    if "conference" in body or type(scheme) is not str or scheme not in _SCHEMES \
            or type(p) is not dict or not p.keys() <= _PARTICIPANT or not _participant(p):
        return None
    if "contribution" not in body:
        return scheme, p, None
    c = body["contribution"]
    if kind not in _ACTIVATING or not _contribution(c):
        return None
    return scheme, p, c


def _participant(p: dict) -> bool:
    pid, sin, sex, birth_year = p.get("personal_id"), p.get("si_number"), p.get("sex"), p.get("birth_year")
    if (pid is None and sin is None) \
            or ("personal_id" in p and (type(pid) is not str or not rules.PERSONAL_ID.matches(pid))) \
            or ("si_number" in p and (type(sin) is not str or not rules.SI_NUMBER.matches(sin))) \
            or ("sex" in p and (type(sex) is not str or sex not in _SEXES)) \
            or ("birth_year" in p and not rules.BIRTH_YEAR.holds(birth_year)):
        return False
    if pid is not None and (sex is not None or birth_year is not None):
        facts = decode_personal_id(pid)
        if (sex is not None and sex != facts.sex) or (birth_year is not None and birth_year != facts.birth_year):
            return False
    return True


def _contribution(c: Any) -> bool:
    return type(c) is dict and c.keys() <= _CONTRIBUTION and "months" in c and "amount_vnd" in c \
        and rules.MONTHS.holds(c["months"]) and rules.AMOUNT_VND.holds(c["amount_vnd"]) \
        and ("chosen_income_vnd" not in c or rules.AMOUNT_VND.holds(c["chosen_income_vnd"])) \
        and ("support_group" not in c or (type(c["support_group"]) is str and c["support_group"] in _SUPPORT))
