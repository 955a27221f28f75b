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

import re
import uuid
from datetime import datetime
from typing import Any

import orjson

from ..domain.identity import decode_personal_id
from ..domain.model import (
    CONFERENCE_HELD, Agent, Channel, ConferenceEvent, Contribution, EnrolmentKind, Participant, PlainEnrolment, Scheme,
    Sex, SupportGroup,
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
_ENVELOPE = frozenset({"schema_version", "agent", "received_at"})
_AGENT = frozenset({"agent_id", "channel"})
_CHANNELS = {c.value: c for c in Channel}


def _int(value: Any, low: int, high: int | None = None) -> bool:
    return type(value) is int and value >= low and (high is None or value <= high)


def _text(value: Any, low: int, high: int) -> bool:
    return type(value) is str and low <= len(value) <= high and not _CONTROL.search(value)


def fast_record(value: bytes | dict) -> PlainEnrolment | ConferenceEvent | None:
    """A topic record (the body plus the API's envelope) decoded: an enrolment as a
    `PlainEnrolment` equal to `PlainEnrolment.of(decode_record(value))`, a conference as the
    event `decode_record` gives; or None when marshmallow must decide. Every free text passes
    `_text` and every number a bound below 2**63, so what this accepts is storable as it is.
    `value` may be the record already parsed by orjson (the worker digests it first); this
    takes the envelope's keys out of that dict."""
    if type(value) is dict:
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
            or agent.keys() != _AGENT or not _text(agent["agent_id"], 1, 64) \
            or type(agent["channel"]) is not str or agent["channel"] not in _CHANNELS \
            or type(received_at) is not str:
        return None
    try:
        if datetime.fromisoformat(received_at).utcoffset() is None:
            return None
    except ValueError:
        return None
    checked = _checked(record)
    if checked is None:
        return None
    common, parts = checked
    if parts is None:  # a conference
        return build_event(common, Agent(agent["agent_id"], _CHANNELS[agent["channel"]]))
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
    return out


def _conference(body: dict, out: dict) -> dict | None:
    conf = body.get("conference")
    if "scheme" in body or "participant" in body or "contribution" in body or type(conf) is not dict \
            or conf.keys() != _CONFERENCE or not _int(conf["attendees"], 1, 100_000) \
            or not _int(conf["cost_vnd"], 0, MAX_VND) or not _text(conf["organiser"], 1, 200):
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
            or ("personal_id" in p and (type(pid) is not str or not _PID.fullmatch(pid))) \
            or ("si_number" in p and (type(sin) is not str or not _SIN.fullmatch(sin))) \
            or ("sex" in p and (type(sex) is not str or sex not in _SEXES)) \
            or ("birth_year" in p and not _int(birth_year, 1900, 2100)):
        return False
    if pid is not None and (sex is not None or birth_year is not None):
        facts = decode_personal_id(pid)
        if (sex is not None and sex != facts.sex) or (birth_year is not None and birth_year != facts.birth_year):
            return False
    return True


def _contribution(c: Any) -> bool:
    return type(c) is dict and c.keys() <= _CONTRIBUTION and "months" in c and "amount_vnd" in c \
        and _int(c["months"], 1, 120) and _int(c["amount_vnd"], 1, MAX_VND) \
        and ("chosen_income_vnd" not in c or _int(c["chosen_income_vnd"], 1, MAX_VND)) \
        and ("support_group" not in c or (type(c["support_group"]) is str and c["support_group"] in _SUPPORT))
