"""The staging rows of decoded events: what `apply_rows` copies into its staging tables, in
the column order of the event store (enrolment_events, conference_events, event_retractions).
Identifiers go in as pseudonyms, never raw."""
from __future__ import annotations

from collections.abc import Iterable

from ...domain.identity import Pseudonymiser, decode_personal_id
from ...domain.model import (
    CONFERENCE, ENROLMENT, RETRACTION, ConferenceEvent, Event, PlainEnrolment, RetractionEvent, reporting_month,
)

EVENT_COLUMNS = (
    "event_id", "ident", "linked_ident", "scheme", "kind", "occurred_at", "month",
    "locality_code", "channel", "agent_id", "sex", "birth_year", "contribution_months",
    "contribution_vnd", "campaign", "content_digest",
)
EVENT_TYPES = (
    "uuid", "bytea", "bytea", "text", "text", "timestamptz", "date", "text", "text", "text", "text",
    "int2", "int4", "int8", "text", "bytea",
)
CONFERENCE_COLUMNS = (
    "event_id", "occurred_at", "month", "locality_code", "channel", "agent_id", "campaign",
    "attendees", "cost_vnd", "organiser", "content_digest",
)
RETRACTION_COLUMNS = (
    "event_id", "retracts", "reason", "note", "occurred_at", "month", "locality_code", "agent_id", "channel",
    "supervisor_id", "provinces", "record_value", "source_partition", "source_offset", "content_digest",
)


def enrolment_row(event: PlainEnrolment, pseudonymiser: Pseudonymiser, digest: bytes | None = None) -> tuple:
    """The staging row of an enrolment event: identifiers as pseudonyms, never raw; `digest`
    is its content digest (contract.digest), None when not known."""
    sex, birth_year = event.sex, event.birth_year
    if event.personal_id:
        ident = pseudonymiser.personal_id(event.personal_id)
        linked = pseudonymiser.si_number(event.si_number) if event.si_number else None
        if sex is None or birth_year is None:
            facts = decode_personal_id(event.personal_id)
            sex = sex or facts.sex.value
            birth_year = birth_year or facts.birth_year
    else:
        assert event.si_number, "an enrolment names a personal id or an SI number (the contract)"
        ident, linked = pseudonymiser.si_number(event.si_number), None
    return (
        event.event_id, ident, linked, event.scheme, event.kind, event.occurred_at,
        reporting_month(event.occurred_at), event.locality_code, event.channel, event.agent_id, sex,
        birth_year, event.contribution_months, event.contribution_vnd, event.campaign, digest,
    )


def conference_row(event: ConferenceEvent, digest: bytes | None = None) -> tuple:
    return (
        event.event_id, event.occurred_at, reporting_month(event.occurred_at),
        event.locality_code, event.agent.channel.value, event.agent.agent_id,
        event.campaign or "", event.attendees, event.cost_vnd, event.organiser, digest,
    )


def retraction_row(event: RetractionEvent, digest: bytes | None = None, record_value: bytes | None = None,
                   source: tuple[int, int] | None = None) -> tuple:
    """The staging row of a retraction; `source`: (partition, offset) of its topic record."""
    r = event.retractor
    return (
        event.event_id, event.retracts, event.reason.value, event.note, event.occurred_at,
        reporting_month(event.occurred_at), event.locality_code, r.agent.agent_id if r.agent else None,
        r.agent.channel.value if r.agent else None, r.supervisor_id,
        sorted(r.provinces) if r.agent is None else None, record_value,
        source[0] if source else None, source[1] if source else None, digest,
    )


def event_row(event: PlainEnrolment | Event, pseudonymiser: Pseudonymiser,
              digest: bytes | None = None, record_value: bytes | None = None) -> tuple[str, tuple]:
    """(ENROLMENT, CONFERENCE or RETRACTION, staging row) of a decoded event; `record_value`:
    its topic record, which a retraction's row keeps."""
    if isinstance(event, ConferenceEvent):
        return CONFERENCE, conference_row(event, digest)
    if isinstance(event, RetractionEvent):
        return RETRACTION, retraction_row(event, digest, record_value)
    return ENROLMENT, enrolment_row(event if isinstance(event, PlainEnrolment) else PlainEnrolment.of(event),
                                    pseudonymiser, digest)


def rows_for(events: Iterable[Event], pseudonymiser: Pseudonymiser) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(enrolment, conference, retraction) staging rows: `apply_rows(conn, *rows_for(events, p))`."""
    rows: dict[str, list[tuple]] = {ENROLMENT: [], CONFERENCE: [], RETRACTION: []}
    for e in events:
        table, row = event_row(e, pseudonymiser)
        rows[table].append(row)
    return rows[ENROLMENT], rows[CONFERENCE], rows[RETRACTION]

