"""Use case: accept validated events durably, then publish them.

202 means durable. Each event goes to the outbox (PostgreSQL, committed) before the caller
answers; only events new to the outbox and the event store are then published. If the broker
does not acknowledge, the events are still accepted: the relay publishes them
(docs/durability.md). An event id already known with the same content is a duplicate (accepted
again, not published again); with other content it is a conflict and is refused.

`ingest` is what an agent's request asks (one event or a batch, validated by the API): its
retractions judged, then its events accepted in one go.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import orjson

from ..contract.digest import content_digest
from ..contract.topic_record import OutgoingRecord, record_key
from ..contract.events import build_event, record_dict
from ..domain.identity import Pseudonymiser
from ..domain.model import RETRACTED, Agent, Event, Retractor
from .retractions import FindKnown, Refusal, retraction_refusals


class PublishUnavailable(Exception):
    """The broker did not acknowledge every record in time: nothing may be reported published."""


@dataclass(frozen=True)
class OutboxEntry:
    event_id: uuid.UUID
    content_digest: bytes
    key: bytes
    value: bytes
    kind: str


@dataclass(frozen=True)
class Admission:
    new: frozenset[uuid.UUID]  # stored now: to be published
    known: dict[uuid.UUID, bytes | None]  # accepted before: its digest (None: stored before digests)

    def is_same_event(self, entry: OutboxEntry) -> bool:
        """`entry` is the event accepted before under its id (as far as can be told)."""
        digest = self.known.get(entry.event_id)
        return digest is None or digest == entry.content_digest


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # new: stored and (if the broker answered) published
    DUPLICATE = "duplicate"  # the same event, accepted before
    CONFLICT = "conflict"  # another event under an id already taken


class Outbox(Protocol):
    def admit(self, entries: Sequence[OutboxEntry]) -> Admission: ...
    def mark_published(self, event_ids: Sequence[uuid.UUID]) -> None: ...


class Publisher(Protocol):
    def publish(self, records: Sequence[OutgoingRecord]) -> None:
        """Raises PublishUnavailable unless the broker acknowledged every record."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Acceptance:
    outcomes: list[Outcome]  # one per event, in the order given
    published: bool  # the broker acknowledged every new event (else the relay will publish them)


def outbox_entry(event: Event, received_at: datetime, pseudonymiser: Pseudonymiser, digest_key: bytes) -> OutboxEntry:
    record = record_dict(event, received_at)
    return OutboxEntry(event.event_id, content_digest(record, digest_key), record_key(event, pseudonymiser),
                       orjson.dumps(record), str(event.kind))


def outgoing_record(entry: OutboxEntry) -> OutgoingRecord:
    return OutgoingRecord.of(str(entry.event_id), entry.kind, entry.key, entry.value)


def accept(entries: Sequence[OutboxEntry], outbox: Outbox, publisher: Publisher) -> Acceptance:
    """Store, then publish, the entries (a request's events, in order). The outbox raising
    means nothing was accepted: the caller answers 503."""
    first: dict[uuid.UUID, int] = {}  # event id -> position of its first copy in this request
    for position, entry in enumerate(entries):
        first.setdefault(entry.event_id, position)
    admission = outbox.admit([entries[p] for p in first.values()])
    outcomes = []
    for position, entry in enumerate(entries):
        if entry.event_id in admission.new:  # compared with this request's first copy
            earliest = first[entry.event_id]
            outcomes.append(Outcome.CONFLICT if entries[earliest].content_digest != entry.content_digest else
                            Outcome.ACCEPTED if earliest == position else Outcome.DUPLICATE)
        else:  # compared with the event accepted before
            outcomes.append(Outcome.DUPLICATE if admission.is_same_event(entry) else Outcome.CONFLICT)
    new = [entries[p] for p in first.values() if entries[p].event_id in admission.new]
    try:
        publisher.publish([outgoing_record(e) for e in new])
    except PublishUnavailable:
        return Acceptance(outcomes, published=False)
    outbox.mark_published([e.event_id for e in new])
    return Acceptance(outcomes, published=True)


@dataclass(frozen=True)
class Verdict:
    """What became of one valid event of a request."""

    event: Event
    refusal: Refusal | None = None  # a retraction refused now: not offered to the outbox
    outcome: Outcome | None = None  # offered: accepted, a duplicate, or a conflict


def ingest(bodies: Sequence[dict], agent: Agent, find_known: FindKnown,
           accept_events: Callable[[list[Event]], Acceptance]) -> list[Verdict]:
    """One verdict per loaded event body (valid by the contract and the API's rules), in order.
    Retractions of known events that `agent` may not retract are refused (one lookup); the
    other events go to `accept_events` together (durable, then published: `accept`), unless
    there are none."""
    refusals = retraction_refusals(find_known, Retractor(agent=agent),
                                   [(i, d) for i, d in enumerate(bodies) if d["kind"] == RETRACTED])
    events = [build_event(data, agent) for data in bodies]
    offered = [i for i in range(len(events)) if i not in refusals]
    outcomes = dict(zip(offered, accept_events([events[i] for i in offered]).outcomes)) if offered else {}
    return [Verdict(event, refusals.get(i), outcomes.get(i)) for i, event in enumerate(events)]
