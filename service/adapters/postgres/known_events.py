"""What the API can tell about events it is asked to retract: accepted already (in the event
store, or in the outbox on its way there), by whom, where. One query for a request's ids; only
requests that retract something ask."""
from __future__ import annotations

import uuid
from collections.abc import Sequence

import psycopg

from ...domain.model import RETRACTED, KnownEvent


# The outbox holds the topic record itself: agent and locality are read from it.
_FIND = f"""
WITH ids AS (SELECT unnest(%s::uuid[]) AS event_id), found AS (
    SELECT e.event_id, false AS is_retraction, e.agent_id, e.locality_code FROM enrolment_events e JOIN ids USING (event_id)
    UNION ALL
    SELECT c.event_id, false, c.agent_id, c.locality_code FROM conference_events c JOIN ids USING (event_id)
    UNION ALL
    SELECT r.event_id, true, r.agent_id, r.locality_code FROM event_retractions r JOIN ids USING (event_id)
    UNION ALL
    SELECT o.event_id, o.kind = '{RETRACTED}', v.record #>> '{{agent,agent_id}}', v.record ->> 'locality_code'
    FROM event_outbox o JOIN ids USING (event_id)
    CROSS JOIN LATERAL (SELECT convert_from(o.record_value, 'UTF8')::jsonb AS record) v
)
SELECT DISTINCT ON (f.event_id) f.event_id, f.is_retraction, f.agent_id, f.locality_code,
       ARRAY(SELECT lc.ancestor_code FROM locality_closure lc WHERE lc.descendant_code = f.locality_code)
FROM found f
"""



def find(conn: psycopg.Connection, event_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, KnownEvent]:
    if not event_ids:
        return {}
    rows = conn.execute(_FIND, (list(event_ids),)).fetchall()
    return {r[0]: KnownEvent(r[0], r[1], r[2], r[3], frozenset(r[4]) | {r[3]}) for r in rows}
