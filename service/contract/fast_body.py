"""Posted body -> the same dict `EventBodySchema().load()` gives, fast, for plainly valid bodies;
topic record -> the same event `decode_record()` gives (`fast_record`), for the consumer.

`EventBodySchema.load` costs ~65 µs an event on these machines, the largest part of the API's
CPU per event. This module accepts only bodies whose every field has the plain JSON shape
(strings as strings, integers as integers, no nulls, no unknown keys) and that pass every rule
of the schema; for anything else it answers None and the caller asks marshmallow, which stays
the definition of the contract and the source of every error message. A differential test
(`tests/ingestion/test_fast_body.py`, `tests/aggregation/test_fast_record.py`) holds them
together: whatever this accepts, marshmallow accepts with an equal result.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import orjson

from ..domain.identity import decode_personal_id
from ..domain.model import (
    CONFERENCE_HELD, Agent, Channel, Contribution, EnrolmentKind, Event, Participant, Scheme, Sex, SupportGroup,
)
from .events import EARLIEST_OCCURRED_AT, MAX_VND, SCHEMA_VERSION, build_event

_TOP = frozenset({"event_id", "kind", "occurred_at", "locality_code", "scheme", "participant", "contribution",
                  "conference", "campaign"})
_REQUIRED = ("event_id", "kind", "occurred_at", "locality_code")
_PARTICIPANT = frozenset({"personal_id", "si_number", "sex", "birth_year"})
_CONTRIBUTION = frozenset({"months", "amount_vnd", "chosen_income_vnd", "support_group"})
_CONFERENCE = frozenset({"attendees", "cost_vnd", "organiser"})
_SCHEMES = {s.value: s for s in Scheme}
_SEXES = {s.value: s for s in Sex}
_SUPPORT = {s.value: s for s in SupportGroup}
_ACTIVATING = frozenset(k.value for k in EnrolmentKind if k.activates)
_ENROLMENT_KINDS = frozenset(k.value for k in EnrolmentKind)
_LOCALITY = re.compile(r"[0-9]{5}")
_PID = re.compile(r"[0-9]{12}")
_SIN = re.compile(r"[0-9]{10}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_ENVELOPE = ("schema_version", "agent", "received_at")
_AGENT = frozenset({"agent_id", "channel"})
_CHANNELS = {c.value: c for c in Channel}


def _int(value: Any, low: int, high: int | None = None) -> bool:
    return type(value) is int and value >= low and (high is None or value <= high)


def _text(value: Any, low: int, high: int) -> bool:
    return type(value) is str and low <= len(value) <= high and not _CONTROL.search(value)


def fast_record(value: bytes) -> Event | None:
    """The event of a topic record (the body plus the API's envelope), or None when
    marshmallow must decide."""
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:  # not JSON, or JSON orjson refuses (NaN, huge integers): marshmallow decides
        return None
    if type(record) is not dict or any(name not in record for name in _ENVELOPE):
        return None
    version, agent, received_at = (record.pop(name) for name in _ENVELOPE)
    if type(version) is not int or version != SCHEMA_VERSION or type(agent) is not dict \
            or agent.keys() != _AGENT or not _text(agent["agent_id"], 1, 64) \
            or type(agent["channel"]) is not str or agent["channel"] not in _CHANNELS \
            or type(received_at) is not str:
        return None
    try:
        if datetime.fromisoformat(received_at).utcoffset() is None:
            return None
    except ValueError:
        return None
    body = fast_body(record)
    if body is None:
        return None
    return build_event(body, Agent(agent_id=agent["agent_id"], channel=_CHANNELS[agent["channel"]]))


def fast_body(body: Any) -> dict | None:
    """The loaded body, or None when marshmallow must decide (maybe it is valid, maybe not)."""
    if type(body) is not dict or not body.keys() <= _TOP:
        return None
    for name in _REQUIRED:
        if name not in body:
            return None
    event_id, kind, occurred_at, locality = body["event_id"], body["kind"], body["occurred_at"], body["locality_code"]
    if type(event_id) is not str or type(kind) is not str or type(occurred_at) is not str \
            or type(locality) is not str or not _LOCALITY.fullmatch(locality):
        return None
    try:
        event_uuid = uuid.UUID(event_id)
        moment = datetime.fromisoformat(occurred_at)
    except ValueError:
        return None
    if moment.utcoffset() is None or moment < EARLIEST_OCCURRED_AT:
        return None
    out: dict[str, Any] = {"event_id": event_uuid, "kind": kind, "occurred_at": moment, "locality_code": locality}
    if "campaign" in body:
        if not _text(body["campaign"], 1, 100):
            return None
        out["campaign"] = body["campaign"]
    if kind == CONFERENCE_HELD:
        return _conference(body, out)
    if kind in _ENROLMENT_KINDS:
        return _enrolment(body, kind, out)
    return None


def _conference(body: dict, out: dict) -> dict | None:
    conf = body.get("conference")
    if "scheme" in body or "participant" in body or "contribution" in body or type(conf) is not dict \
            or conf.keys() != _CONFERENCE or not _int(conf["attendees"], 1, 100_000) \
            or not _int(conf["cost_vnd"], 0, MAX_VND) or not _text(conf["organiser"], 1, 200):
        return None
    out["conference"] = {"attendees": conf["attendees"], "cost_vnd": conf["cost_vnd"], "organiser": conf["organiser"]}
    return out


def _enrolment(body: dict, kind: str, out: dict) -> dict | None:
    scheme, p = body.get("scheme"), body.get("participant")
    if "conference" in body or type(scheme) is not str or scheme not in _SCHEMES \
            or type(p) is not dict or not p.keys() <= _PARTICIPANT:
        return None
    participant = _participant(p)
    if participant is None:
        return None
    out["scheme"] = _SCHEMES[scheme]
    out["participant"] = participant
    if "contribution" in body:
        if kind not in _ACTIVATING:
            return None
        contribution = _contribution(body["contribution"])
        if contribution is None:
            return None
        out["contribution"] = contribution
    return out


def _participant(p: dict) -> Participant | None:
    loaded: dict[str, Any] = {}
    if "personal_id" in p:
        pid = p["personal_id"]
        if type(pid) is not str or not _PID.fullmatch(pid):
            return None
        loaded["personal_id"] = pid
    if "si_number" in p:
        sin = p["si_number"]
        if type(sin) is not str or not _SIN.fullmatch(sin):
            return None
        loaded["si_number"] = sin
    if not loaded:
        return None
    if "sex" in p:
        sex = p["sex"]
        if type(sex) is not str or sex not in _SEXES:
            return None
        loaded["sex"] = _SEXES[sex]
    if "birth_year" in p:
        if not _int(p["birth_year"], 1900, 2100):
            return None
        loaded["birth_year"] = p["birth_year"]
    if "personal_id" in loaded and ("sex" in loaded or "birth_year" in loaded):
        facts = decode_personal_id(loaded["personal_id"])
        if ("sex" in loaded and loaded["sex"] != facts.sex) \
                or ("birth_year" in loaded and loaded["birth_year"] != facts.birth_year):
            return None
    return Participant(**loaded)


def _contribution(c: Any) -> Contribution | None:
    if type(c) is not dict or not c.keys() <= _CONTRIBUTION or "months" not in c or "amount_vnd" not in c \
            or not _int(c["months"], 1, 120) or not _int(c["amount_vnd"], 1, MAX_VND):
        return None
    loaded: dict[str, Any] = {"months": c["months"], "amount_vnd": c["amount_vnd"]}
    if "chosen_income_vnd" in c:
        if not _int(c["chosen_income_vnd"], 1, MAX_VND):
            return None
        loaded["chosen_income_vnd"] = c["chosen_income_vnd"]
    if "support_group" in c:
        group = c["support_group"]
        if type(group) is not str or group not in _SUPPORT:
            return None
        loaded["support_group"] = _SUPPORT[group]
    return Contribution(**loaded)
