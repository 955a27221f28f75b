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

The statements are in `sql/retractions/` (rendered once by `apply_sql`).
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import psycopg
from psycopg import sql

from ...domain.model import CONFERENCE, ENROLMENT, RETRACTION
from ...domain.participants import group_participants
from ...service_layer.applying import RefusedRetraction
from . import apply_sql
from .apply_sql import statement
from .rows import Statement, one_row

CANNOT_RETRACT_A_RETRACTION = "retraction_refused: a retraction cannot be retracted (retract the event again instead)"
NOT_THE_SENDER = "retraction_refused: an agent may retract only the events it sent"
NOT_IN_PROVINCES = "retraction_refused: the event is not in the provinces of the supervisor"


@cache
def _judge() -> str:
    """sql/retractions/judge.sql with the target kinds and the refusals."""
    return apply_sql.render("retractions", "judge", **{name: sql.Literal(value) for name, value in {
        "enrolment": ENROLMENT, "conference": CONFERENCE, "retraction": RETRACTION,
        "cannot_retract_a_retraction": CANNOT_RETRACT_A_RETRACTION, "not_the_sender": NOT_THE_SENDER,
        "not_in_provinces": NOT_IN_PROVINCES}.items()})


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
    for event_id, retracts, kind, refusal, value, partition, offset in cur.execute(_judge(), prepare=False):
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


def apply(cur: psycopg.Cursor, verdicts: Verdicts, rederive_statements: list[str]) -> Retracted:
    """Take the applied retractions' events out of the figures (see the module docstring).
    `rederive_statements`: the apply's statements that turn the timeline into stock and flow
    changes and participant state."""
    events = 0
    if verdicts.retracted_conferences:
        (events,) = one_row(cur.execute(statement("retractions", "retract_conferences"),
                                        (verdicts.retracted_conferences,), prepare=False))
    if not verdicts.retracted_enrolments:
        return Retracted(events, 0, 0)
    marked = cur.execute(statement("retractions", "mark_enrolments"), (verdicts.retracted_enrolments,),
                         prepare=False).fetchall()
    new = [e for e, is_new in marked if is_new]
    counted = [e for e, is_new in marked if not is_new]
    if new:
        cur.execute(statement("retractions", "forget_new"), (new,), prepare=False)
    rederived = _rederive_without(cur, counted, rederive_statements) if counted else 0
    return Retracted(events + len(marked), len(new), rederived)


def _rederive_without(cur: psycopg.Cursor, retracted: list[uuid.UUID], rederive_statements: list[str]) -> int:
    participants = [p for (p,) in cur.execute(statement("retractions", "participants_of"), (retracted,), prepare=False)]
    members = {bytes(i): p for i, p in cur.execute(statement("retractions", "members"), (participants,), prepare=False)}
    links: dict[int, list[tuple[bytes, bytes | None]]] = defaultdict(list)
    for p, ident, linked in cur.execute(statement("retractions", "remaining_links"), (participants,), prepare=False):
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
        fresh = [n for (n,) in cur.execute(statement("aggregates", "next_participant_ids"),
                                           (len(split_off),))]
        for n, group in zip(fresh, split_off):
            number.update((ident, n) for ident in group)
    identifiers = sorted(number)
    dropped = sorted(i for i in members if i not in number)
    renumbered = [i for i in identifiers if number[i] != members.get(i)]
    statements: list[Statement] = [
        (statement("retractions", "load_without"), {
            "old": participants, "retracted": retracted, "identifiers": identifiers,
            "numbers": [number[i] for i in identifiers]}),
        (statement("retractions", "drop_identifiers"), (dropped,)),
        (statement("retractions", "renumber"), (renumbered, [number[i] for i in renumbered])),
        (statement("retractions", "forget_state"), (sorted(set(participants) | set(number.values())),)),
        *((s, None) for s in rederive_statements),
        (statement("retractions", "clear_timeline"), None),
    ]
    with cur.connection.pipeline():
        for query, params in statements:
            cur.execute(query, params, prepare=False)
    return len(participants)
