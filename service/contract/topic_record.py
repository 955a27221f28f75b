"""A Kafka record of the events topic beyond its value (contract/events.py): its key and
headers, part of what downstream readers rely on.

The key is the hex of the participant's pseudonym (`Pseudonymiser`) of the primary id: the
personal id when the event has one, else the SI number; a conference is keyed by its locality
code, a retraction by the event it retracts. The default partitioner hashes the key, so one
participant's events (under one id) stay in order on one partition. See docs/ingestion.md for
what that does and does not promise.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..domain.identity import Pseudonymiser
from ..domain.model import EVENT_KINDS, ConferenceEvent, Event, RetractionEvent
from .events import SCHEMA_VERSION


@dataclass(frozen=True)
class OutgoingRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, event_id: str, kind: str, key: bytes, value: bytes) -> "OutgoingRecord":
        return cls(key, value, record_headers(event_id, kind))


def record_key(event: Event, pseudonymiser: Pseudonymiser) -> bytes:
    if isinstance(event, ConferenceEvent):
        return event.locality_code.encode()
    if isinstance(event, RetractionEvent):  # the retractions of one event share a partition
        return str(event.retracts).encode()
    p = event.participant
    if p.personal_id:
        return pseudonymiser.personal_id(p.personal_id).hex().encode()
    assert p.si_number, "an enrolment names a personal id or an SI number (the contract)"
    return pseudonymiser.si_number(p.si_number).hex().encode()


_SCHEMA_VERSION_HEADER = ("schema_version", str(SCHEMA_VERSION).encode())
_KIND_HEADERS = {kind: ("kind", kind.encode()) for kind in EVENT_KINDS}


def record_headers(event_id: str, kind: str) -> list[tuple[str, bytes]]:
    return [("event_id", event_id.encode()), _SCHEMA_VERSION_HEADER, _KIND_HEADERS[kind]]

