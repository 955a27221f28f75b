"""The database side of the stack's commands (`migrate`, `run`, `status`, and the migration
that `worker` and `relay` run at their start), on the service's URL: each call opens its own
connection and commits.

`sql/stack/*.sql` holds the two queries of its own; the rest is the other adapters' (migrations,
contribution rules, reference data, outbox, stored offsets).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from ...service_layer.unavailable import Unreachable
from . import aggregates, contribution_rules, outbox, reference
from .migrations import migrate
from .rows import one_row
from .sql_files import text


@dataclass(frozen=True)
class PipelineProgress:
    """How far the consumer group has applied (None: no aggregation status row yet)."""
    offsets: dict[tuple[str, int], int]  # (topic, partition) -> next offset to read
    last_applied_at: datetime | None = None
    newest_occurred_at: datetime | None = None
    events_applied: int | None = None


class StackDatabase:
    def __init__(self, url: str, status_timeout_s: float = 3.0):
        self.url = url
        self.status_timeout_s = status_timeout_s  # `progress` waits this long for a connection

    def migrate(self) -> int:
        """Apply pending migrations; how many were applied now."""
        return len(migrate(self.url))

    def load_contribution_rules(self, path: Path) -> int:
        return contribution_rules.load_seed(self.url, path)

    def load_default_reference(self) -> dict[str, reference.LoadReport]:
        return reference.load_default_reference(self.url)

    def forget_consumer_offsets(self) -> None:
        aggregates.forget_consumer_offsets(self.url)

    def note_broker_reset(self, reason: str) -> tuple[int, int]:
        """Have the relay publish the outbox again; (events stored, accepted events not yet
        stored)."""
        with psycopg.connect(self.url) as conn:
            outbox.record_reset(conn, reason)
            pending, _ = outbox.pending(conn)
            (stored,) = one_row(conn.execute(text("stack", "events_that_count")))
        return stored, pending

    def pending_in_outbox(self) -> int:
        """Accepted events not yet in the event store; Unreachable (the error's name) when the
        database does not answer."""
        try:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                left, _ = outbox.pending(conn)
        except psycopg.OperationalError as exc:
            raise Unreachable(type(exc).__name__) from exc
        return left

    def progress(self, consumer_group: str) -> PipelineProgress:
        """The group's applied offsets and the aggregation status row; Unreachable when the
        database does not answer."""
        try:
            with psycopg.connect(self.url, connect_timeout=int(self.status_timeout_s)) as conn:
                offsets = aggregates.stored_offsets(conn, consumer_group)
                row = conn.execute(text("stack", "aggregation_progress")).fetchone()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc) else ""
            raise Unreachable(f"database: {type(exc).__name__}: {first}") from exc
        return PipelineProgress(offsets, *row) if row else PipelineProgress(offsets)
