"""Use case: publish again the accepted events that the broker may not hold (the outbox relay).

The API stores each event in the outbox before its 202 and publishes it itself; a row is due
again only when that did not happen or may have been undone (docs/durability.md): never
acknowledged after the grace period, acknowledged before the broker's last recorded reset, or
acknowledged and still unapplied after the stale period. A record published twice is a
duplicate, which the consumer counts once (event_id).
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from .ingestion import OutboxEntry, Publisher, outgoing_record


class DueOutbox(Protocol):
    """The outbox as the relay reads it (adapters/postgres/outbox.py `RelayOutbox`); raises
    DatabaseUnavailable when the database is unreachable."""

    def due(self, *, limit: int, grace_s: float, stale_s: float) -> list[OutboxEntry]: ...
    def mark_published(self, event_ids: Sequence[uuid.UUID]) -> None: ...
    def close(self) -> None: ...


def publish_due(outbox: DueOutbox, publisher: Publisher, *, limit: int, grace_s: float, stale_s: float) -> int:
    """Publish up to `limit` due rows and note them published; how many. Raises
    PublishUnavailable (nothing noted: they stay due) or DatabaseUnavailable."""
    entries = outbox.due(limit=limit, grace_s=grace_s, stale_s=stale_s)
    if not entries:
        return 0
    publisher.publish([outgoing_record(e) for e in entries])
    outbox.mark_published([e.event_id for e in entries])
    return len(entries)
