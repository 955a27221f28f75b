"""Topic record -> staging row, fast, for the records that are plainly valid.

Validating a record with the marshmallow contract (`service.contract.events.decode_record`)
costs ~75 µs on these machines: more than the whole per-event budget of the consumer. This
module accepts only records whose every field is in the plain shape the API writes and that
pass every rule of `TopicRecordSchema`; for anything else — an unknown key, a number given
as a string, a null, an unusual date format, any broken rule — it answers None and the caller
asks marshmallow, which stays the judge of what is poison. A differential test holds the two
together: whatever this accepts, marshmallow accepts with the same row.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

from ...contract.events import EARLIEST_OCCURRED_AT, MAX_VND, SCHEMA_VERSION
from ...domain.identity import Pseudonymiser, decode_personal_id
from ...domain.model import CONFERENCE_HELD, REPORTING_TZ, Channel, EnrolmentKind, Scheme, Sex, SupportGroup

_TOP = frozenset({"schema_version", "event_id", "kind", "occurred_at", "locality_code", "agent",
                  "received_at", "scheme", "participant", "contribution", "conference", "campaign"})
_REQUIRED = ("schema_version", "event_id", "kind", "occurred_at", "locality_code", "agent", "received_at")
_AGENT = frozenset({"agent_id", "channel"})
_PARTICIPANT = frozenset({"personal_id", "si_number", "sex", "birth_year"})
_CONTRIBUTION = frozenset({"months", "amount_vnd", "chosen_income_vnd", "support_group"})
_CONFERENCE = frozenset({"attendees", "cost_vnd", "organiser"})
_CHANNELS = frozenset(c.value for c in Channel)
_SCHEMES = frozenset(s.value for s in Scheme)
_SEXES = frozenset(s.value for s in Sex)
_SUPPORT = frozenset(s.value for s in SupportGroup)
_ACTIVATING = frozenset({EnrolmentKind.REGISTERED.value, EnrolmentKind.RENEWED.value})
_ENROLMENT_KINDS = frozenset(k.value for k in EnrolmentKind)
_LOCALITY = re.compile(r"[0-9]{5}")
_PID = re.compile(r"[0-9]{12}")
_SIN = re.compile(r"[0-9]{10}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _int(value, low: int, high: int | None = None) -> bool:
    return type(value) is int and value >= low and (high is None or value <= high)


def _text(value, low: int, high: int) -> bool:
    return type(value) is str and low <= len(value) <= high and not _CONTROL.search(value)


def _aware(value) -> datetime | None:
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def fast_row(value: bytes, pseudonymiser: Pseudonymiser) -> tuple[bool, tuple] | None:
    """(is an enrolment, staging row), or None when marshmallow must decide."""
    try:
        d = json.loads(value)
    except (ValueError, TypeError):
        return None
    if type(d) is not dict or not d.keys() <= _TOP or any(k not in d for k in _REQUIRED):
        return None
    if d["schema_version"] != SCHEMA_VERSION or type(d["schema_version"]) is not int:
        return None
    agent, kind, locality = d["agent"], d["kind"], d["locality_code"]
    if type(agent) is not dict or agent.keys() != _AGENT or not _text(agent["agent_id"], 1, 64) \
            or type(agent["channel"]) is not str or agent["channel"] not in _CHANNELS:
        return None
    if type(locality) is not str or not _LOCALITY.fullmatch(locality) or type(kind) is not str:
        return None
    occurred = _aware(d["occurred_at"])
    if occurred is None or occurred < EARLIEST_OCCURRED_AT or _aware(d["received_at"]) is None:
        return None
    campaign = d.get("campaign")
    if "campaign" in d and not _text(campaign, 1, 100):
        return None
    if type(d["event_id"]) is not str:
        return None
    try:
        event_id = uuid.UUID(d["event_id"])
    except ValueError:
        return None
    local = occurred.astimezone(REPORTING_TZ)
    month = local.date().replace(day=1)
    if kind == CONFERENCE_HELD:
        return _conference(d, event_id, occurred, month, locality, agent, campaign)
    if kind not in _ENROLMENT_KINDS:
        return None
    return _enrolment(d, kind, event_id, occurred, month, locality, agent, campaign, pseudonymiser)


def _conference(d, event_id, occurred, month, locality, agent, campaign):
    conf = d.get("conference")
    if "scheme" in d or "participant" in d or "contribution" in d or type(conf) is not dict \
            or conf.keys() != _CONFERENCE or not _int(conf["attendees"], 1, 100_000) \
            or not _int(conf["cost_vnd"], 0, MAX_VND) or not _text(conf["organiser"], 1, 200):
        return None
    return False, (event_id, occurred, month, locality, agent["channel"], agent["agent_id"],
                   campaign or "", conf["attendees"], conf["cost_vnd"], conf["organiser"])


def _enrolment(d, kind, event_id, occurred, month, locality, agent, campaign, pseudonymiser):
    scheme, p = d.get("scheme"), d.get("participant")
    if "conference" in d or type(scheme) is not str or scheme not in _SCHEMES or type(p) is not dict \
            or not p.keys() <= _PARTICIPANT:
        return None
    pid, sin, sex, birth_year = p.get("personal_id"), p.get("si_number"), p.get("sex"), p.get("birth_year")
    if ("personal_id" in p and (type(pid) is not str or not _PID.fullmatch(pid))) \
            or ("si_number" in p and (type(sin) is not str or not _SIN.fullmatch(sin))) \
            or ("sex" in p and (type(sex) is not str or sex not in _SEXES)) \
            or ("birth_year" in p and not _int(birth_year, 1900, 2100)) or not (pid or sin):
        return None
    months = amount = None
    if "contribution" in d:
        c = d["contribution"]
        if kind not in _ACTIVATING or type(c) is not dict or not c.keys() <= _CONTRIBUTION \
                or not _int(c.get("months"), 1, 120) or not _int(c.get("amount_vnd"), 1, MAX_VND) \
                or ("chosen_income_vnd" in c and not _int(c["chosen_income_vnd"], 1, MAX_VND)) \
                or ("support_group" in c and (type(c["support_group"]) is not str or c["support_group"] not in _SUPPORT)):
            return None
        months, amount = c["months"], c["amount_vnd"]
    if pid:
        facts = decode_personal_id(pid)
        if (sex is not None and sex != facts.sex.value) or (birth_year is not None and birth_year != facts.birth_year):
            return None
        sex, birth_year = sex or facts.sex.value, birth_year or facts.birth_year
        ident = pseudonymiser.personal_id(pid)
        linked = pseudonymiser.si_number(sin) if sin else None
    else:
        ident, linked = pseudonymiser.si_number(sin), None
    return True, (event_id, ident, linked, scheme, kind, occurred, month, locality, agent["channel"],
                  agent["agent_id"], sex, birth_year, months, amount, campaign)
