"""Retractions in the apply (migration 0041): the figures are those of the set of events minus
the retracted ones, whatever the arrival order.

Each apply, under the apply lock and before its new events are counted, judges the retractions
that can be judged now: the batch's own (their event may be stored already) and the waiting
ones whose event the batch brings. A retraction is applied when its sender may retract the
event (`domain.model.may_retract`: the agent that sent it, or a supervisor of its province),
else refused (the worker dead-letters it). An applied retraction marks its event `retracted`:
- an event of this batch is simply never counted (taken out of the batch's new events before
  identity resolution, so its identifier links count for nothing either);
- a conference counted before is subtracted from agg_outreach;
- an enrolment counted before re-derives its participant with the existing machinery: the
  participant's counted events with sign -1, its remaining events with sign +1. Identity is
  regrouped from the remaining events' links: if the retracted event was the one linking a
  personal id and an SI number, the participant splits (the group with the smallest
  identifier keeps the number, the others get new ones) and identifiers left with no event
  are forgotten, as if the event had never existed.
A second retraction of a retracted event changes nothing (the event is retracted once).
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import psycopg

from ...domain.participants import group_participants
from .rows import Statement, one_row

RETRACTION_COLUMNS = (
    "event_id", "retracts", "reason", "note", "occurred_at", "month", "locality_code", "agent_id", "channel",
    "supervisor_id", "provinces", "record_value", "source_partition", "source_offset", "content_digest",
)

TEMP_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS staging_retractions (LIKE event_retractions) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS inserted_retractions (LIKE event_retractions) ON COMMIT DELETE ROWS;
"""
TEMP_TABLE_NAMES = ("staging_retractions", "inserted_retractions")

STORE = """
WITH inserted AS (
    INSERT INTO event_retractions SELECT * FROM staging_retractions
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *
)
INSERT INTO inserted_retractions SELECT * FROM inserted
"""

ENROLMENT, CONFERENCE, RETRACTION = "enrolment", "conference", "retraction"
CANNOT_RETRACT_A_RETRACTION = "retraction_refused: a retraction cannot be retracted (retract the event again instead)"
NOT_THE_SENDER = "retraction_refused: an agent may retract only the events it sent"
NOT_IN_PROVINCES = "retraction_refused: the event is not in the provinces of the supervisor"

# The retractions that can be judged now: the batch's, and the waiting ones whose event the
# batch brings (a hash of the few waiting ones, probed by the batch's ids: no per-event query).
# The permission is `domain.model.may_retract`, stated here for a set.
_JUDGE = f"""
WITH arrived AS (
    SELECT event_id FROM inserted_events UNION ALL SELECT event_id FROM inserted_conferences
    UNION ALL SELECT event_id FROM inserted_retractions
), candidates AS (
    SELECT event_id FROM inserted_retractions
    UNION
    SELECT r.event_id FROM event_retractions r WHERE r.verdict IS NULL AND r.retracts IN (SELECT event_id FROM arrived)
), judged AS (
    SELECT r.event_id, t.kind, t.month, t.locality_code, t.agent_id, t.channel,
           CASE WHEN t.kind = '{RETRACTION}' THEN '{CANNOT_RETRACT_A_RETRACTION}'
                WHEN r.agent_id IS NOT NULL AND r.agent_id IS DISTINCT FROM t.agent_id THEN '{NOT_THE_SENDER}'
                WHEN r.supervisor_id IS NOT NULL AND NOT EXISTS (
                    SELECT FROM locality_closure lc
                    WHERE lc.descendant_code = t.locality_code AND lc.ancestor_code = ANY(r.provinces))
                THEN '{NOT_IN_PROVINCES}'
           END AS refusal
    FROM candidates c JOIN event_retractions r USING (event_id)
    CROSS JOIN LATERAL (
        SELECT '{ENROLMENT}' AS kind, e.month, e.locality_code, e.agent_id, e.channel
        FROM enrolment_events e WHERE e.event_id = r.retracts
        UNION ALL
        SELECT '{CONFERENCE}', f.month, f.locality_code, f.agent_id, f.channel
        FROM conference_events f WHERE f.event_id = r.retracts
        UNION ALL
        SELECT '{RETRACTION}', NULL, NULL, NULL, NULL FROM event_retractions x WHERE x.event_id = r.retracts
        LIMIT 1
    ) t
    WHERE r.verdict IS NULL
)
UPDATE event_retractions r SET
    verdict = CASE WHEN j.refusal IS NULL THEN 'applied' ELSE 'refused' END, refusal = j.refusal,
    target_kind = j.kind, target_month = j.month, target_locality = j.locality_code,
    target_agent_id = j.agent_id, target_channel = j.channel
FROM judged j WHERE r.event_id = j.event_id
RETURNING r.event_id, r.retracts, j.kind, j.refusal, r.record_value, r.source_partition, r.source_offset
"""

# Counted (not retracted) events of this batch are `inserted_*`; the others were counted before.
_MARK_ENROLMENTS = """
WITH marked AS (
    UPDATE enrolment_events e SET retracted = true
    WHERE e.event_id = ANY(%s) AND e.retracted IS NULL
    RETURNING e.event_id
)
SELECT m.event_id, EXISTS (SELECT FROM inserted_events n WHERE n.event_id = m.event_id) FROM marked m
"""

_FORGET_NEW = "DELETE FROM inserted_events WHERE event_id = ANY(%s)"

_RETRACT_CONFERENCES = """
WITH marked AS (
    UPDATE conference_events c SET retracted = true
    WHERE c.event_id = ANY(%s) AND c.retracted IS NULL
    RETURNING c.*
), new AS (
    DELETE FROM inserted_conferences n USING marked m WHERE n.event_id = m.event_id RETURNING n.event_id
), subtracted AS (
    INSERT INTO agg_outreach (locality_code, month, campaign, conferences, attendees, cost_vnd)
    SELECT locality_code, month, campaign, -count(*), -sum(attendees), -sum(cost_vnd)
    FROM marked m WHERE NOT EXISTS (SELECT FROM new WHERE new.event_id = m.event_id)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (locality_code, month, campaign) DO UPDATE SET
        conferences = agg_outreach.conferences + EXCLUDED.conferences,
        attendees = agg_outreach.attendees + EXCLUDED.attendees,
        cost_vnd = agg_outreach.cost_vnd + EXCLUDED.cost_vnd
)
SELECT count(*) FROM marked
"""

_PARTICIPANTS_OF = """
SELECT DISTINCT i.participant_id FROM enrolment_events e JOIN participant_identifiers i ON i.identifier = e.ident
WHERE e.event_id = ANY(%s)
"""

_MEMBERS = "SELECT identifier, participant_id FROM participant_identifiers WHERE participant_id = ANY(%s)"

# The links that still hold: those of the participants' counted events that stay counted.
_REMAINING_LINKS = """
SELECT DISTINCT i.participant_id, e.ident, e.linked_ident
FROM participant_identifiers i
CROSS JOIN LATERAL (SELECT ident, linked_ident FROM enrolment_events e
                    WHERE e.ident = i.identifier AND e.retracted IS NULL
                      AND e.event_id NOT IN (SELECT event_id FROM inserted_events) OFFSET 0) e
WHERE i.participant_id = ANY(%s)
"""

_DROP_IDENTIFIERS = "DELETE FROM participant_identifiers WHERE identifier = ANY(%s)"
_RENUMBER = """
UPDATE participant_identifiers p SET participant_id = m.participant_id
FROM unnest(%s::bytea[], %s::bigint[]) AS m(identifier, participant_id) WHERE p.identifier = m.identifier
"""
_FORGET_STATE = "DELETE FROM participant_scheme_state WHERE participant_id = ANY(%s)"
_CLEAR_TIMELINE = "DELETE FROM timeline"


def load_without(columns: str) -> str:
    """The re-derivation's timeline: the participants' events as counted before (under their
    numbers before the regrouping) with sign -1, the events that stay counted under their new
    numbers with sign +1. This batch's new events are left to the rest of the apply."""
    return f"""
INSERT INTO timeline
SELECT -1, i.participant_id, {columns} FROM participant_identifiers i
CROSS JOIN LATERAL (SELECT * FROM enrolment_events e WHERE e.ident = i.identifier OFFSET 0) e
WHERE i.participant_id = ANY(%(old)s) AND (e.retracted IS NULL OR e.event_id = ANY(%(retracted)s))
  AND e.event_id NOT IN (SELECT event_id FROM inserted_events)
UNION ALL
SELECT 1, m.participant_id, {columns}
FROM unnest(%(identifiers)s::bytea[], %(numbers)s::bigint[]) AS m(identifier, participant_id)
CROSS JOIN LATERAL (SELECT * FROM enrolment_events e WHERE e.ident = m.identifier OFFSET 0) e
WHERE e.retracted IS NULL AND e.event_id NOT IN (SELECT event_id FROM inserted_events)
"""


@dataclass(frozen=True)
class RefusedRetraction:
    event_id: uuid.UUID  # the retraction's
    error: str
    record_value: bytes | None  # the topic record, when known (for a dead letter)
    source_partition: int | None
    source_offset: int | None


@dataclass(frozen=True)
class Verdicts:
    retracted_enrolments: list[uuid.UUID]
    retracted_conferences: list[uuid.UUID]
    refused: list[RefusedRetraction]

    @property
    def any(self) -> bool:
        return bool(self.retracted_enrolments or self.retracted_conferences or self.refused)


def judge(cur: psycopg.Cursor) -> Verdicts:
    enrolments, conferences, refused = [], [], []
    for event_id, retracts, kind, refusal, value, partition, offset in cur.execute(_JUDGE, prepare=False):
        if refusal is not None:
            refused.append(RefusedRetraction(event_id, refusal, bytes(value) if value is not None else None,
                                             partition, offset))
        elif kind == ENROLMENT:
            enrolments.append(retracts)
        else:
            conferences.append(retracts)
    return Verdicts(sorted(set(enrolments)), sorted(set(conferences)), refused)


@dataclass(frozen=True)
class Retracted:
    events: int  # events that stopped counting now (new to the store or counted before)
    new_enrolments: int  # of which enrolments of this batch, taken out before they were counted
    rederived: int  # participants re-derived


def apply(cur: psycopg.Cursor, verdicts: Verdicts, columns: str, rederive_statements: list[str]) -> Retracted:
    """Take the applied retractions' events out of the figures (see the module docstring).
    `columns`: the event columns of the timeline; `rederive_statements`: the apply's statements
    that turn the timeline into stock and flow changes and participant state."""
    events = 0
    if verdicts.retracted_conferences:
        (events,) = one_row(cur.execute(_RETRACT_CONFERENCES, (verdicts.retracted_conferences,), prepare=False))
    if not verdicts.retracted_enrolments:
        return Retracted(events, 0, 0)
    marked = cur.execute(_MARK_ENROLMENTS, (verdicts.retracted_enrolments,), prepare=False).fetchall()
    new = [e for e, is_new in marked if is_new]
    counted = [e for e, is_new in marked if not is_new]
    if new:
        cur.execute(_FORGET_NEW, (new,), prepare=False)
    rederived = _rederive_without(cur, counted, columns, rederive_statements) if counted else 0
    return Retracted(events + len(marked), len(new), rederived)


def _rederive_without(cur: psycopg.Cursor, retracted: list[uuid.UUID], columns: str,
                      rederive_statements: list[str]) -> int:
    participants = [p for (p,) in cur.execute(_PARTICIPANTS_OF, (retracted,), prepare=False)]
    members = {bytes(i): p for i, p in cur.execute(_MEMBERS, (participants,), prepare=False)}
    links: dict[int, list[tuple[bytes, bytes | None]]] = defaultdict(list)
    for p, ident, linked in cur.execute(_REMAINING_LINKS, (participants,), prepare=False):
        links[p].append((bytes(ident), bytes(linked) if linked is not None else None))
    number: dict[bytes, int] = {}  # identifier -> participant number after the regrouping
    split_off: list[list[bytes]] = []  # groups that need a new number
    for p in participants:
        groups: dict[int, list[bytes]] = defaultdict(list)
        for ident, group_number in group_participants(links[p]).items():
            groups[group_number].append(ident)
        ordered = sorted(groups.values(), key=min)
        if ordered:
            number.update((ident, p) for ident in ordered[0])
            split_off += ordered[1:]
    if split_off:
        fresh = [n for (n,) in cur.execute("SELECT nextval('participant_id_seq') FROM generate_series(1, %s)",
                                           (len(split_off),))]
        for n, group in zip(fresh, split_off):
            number.update((ident, n) for ident in group)
    identifiers = sorted(number)
    dropped = sorted(i for i in members if i not in number)
    renumbered = [i for i in identifiers if number[i] != members.get(i)]
    statements: list[Statement] = [
        (load_without(columns), {"old": participants, "retracted": retracted, "identifiers": identifiers,
                                 "numbers": [number[i] for i in identifiers]}),
        (_DROP_IDENTIFIERS, (dropped,)),
        (_RENUMBER, (renumbered, [number[i] for i in renumbered])),
        (_FORGET_STATE, (sorted(set(participants) | set(number.values())),)),
        *((s, None) for s in rederive_statements),
        (_CLEAR_TIMELINE, None),
    ]
    with cur.connection.pipeline():
        for statement, params in statements:
            cur.execute(statement, params, prepare=False)
    return len(participants)
