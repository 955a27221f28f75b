"""What the API can tell about events it is asked to retract: accepted already (in the event
store, or in the outbox on its way there), by whom, where. One query for a request's ids; only
requests that retract something ask (`sql/known_events/find.sql`)."""
from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg

from ...domain.model import RETRACTED, KnownEvent
from .sql_files import text


def find(conn: psycopg.Connection, event_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, KnownEvent]:
    if not event_ids:
        return {}
    rows = conn.execute(text("known_events", "find"), {"ids": list(event_ids), "retracted": RETRACTED}).fetchall()
    return {r[0]: KnownEvent(r[0], r[1], r[2], r[3], frozenset(r[4]) | {r[3]}) for r in rows}
