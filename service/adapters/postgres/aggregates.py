"""Applying a batch of events to the aggregates: one transaction, a handful of set-based
statements, whatever the batch size.

Per batch: COPY into temp staging tables -> INSERT … ON CONFLICT DO NOTHING RETURNING (dedupe
by event_id) -> identity resolution (pure domain, on the new events' identifiers and their
known participant numbers) -> for every participant touched: re-derive its facts from all
its stored events with window functions and write only the facts that changed (old ones
subtracted, new ones added) -> one grouped upsert per agg_* table with the net change, rows
in key order -> store the offsets -> COMMIT. The caller commits Kafka offsets only after that.

Applies are serialised with a transaction-level advisory lock: a participant's events may sit
in several partitions (SI-number-only and personal-id events hash differently), so two
consumers could otherwise re-derive one participant from two different snapshots.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ...domain.aggregation import TABLE_KEYS, TABLE_VALUES, Tables
from ...domain.identity import Pseudonymiser, decode_personal_id
from ...domain.model import ConferenceEvent, EnrolmentEvent, Event, reporting_month
from ...domain.participants import resolve

APPLY_LOCK = 7_400_003  # pg_advisory_xact_lock key: one apply at a time

ACTIVATING = "('registered', 'renewed')"

EVENT_COLUMNS = (
    "event_id", "ident", "linked_ident", "scheme", "kind", "occurred_at", "month",
    "locality_code", "channel", "agent_id", "sex", "birth_year", "contribution_months",
    "contribution_vnd", "campaign",
)
CONFERENCE_COLUMNS = (
    "event_id", "occurred_at", "month", "locality_code", "channel", "agent_id", "campaign",
    "attendees", "cost_vnd", "organiser",
)

_TEMP_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS staging_events (LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staging_conferences (LIKE conference_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS batch_events (participant_id bigint, LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS new_stock_facts (LIKE participant_stock_facts) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS new_flow_facts (LIKE participant_flow_facts) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stock_diff (LIKE participant_stock_facts) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS flow_diff (LIKE participant_flow_facts) ON COMMIT DELETE ROWS;
"""

_INSERT_NEW_EVENTS = """
INSERT INTO enrolment_events SELECT * FROM staging_events
ON CONFLICT (event_id) DO NOTHING
RETURNING ident, linked_ident, occurred_at
"""

_KNOWN = "SELECT identifier, participant_id FROM participant_identifiers WHERE identifier = ANY(%s)"

_ASSIGN = """
INSERT INTO participant_identifiers (identifier, participant_id)
SELECT * FROM unnest(%s::bytea[], %s::bigint[])
ON CONFLICT (identifier) DO UPDATE SET participant_id = EXCLUDED.participant_id
"""

_MERGE = """
UPDATE participant_identifiers p SET participant_id = m.winner
FROM unnest(%s::bigint[], %s::bigint[]) AS m(loser, winner)
WHERE p.participant_id = m.loser
"""

_LOAD_TIMELINES = """
INSERT INTO batch_events
SELECT i.participant_id, e.*
FROM participant_identifiers i JOIN enrolment_events e ON e.ident = i.identifier
WHERE i.participant_id = ANY(%(affected)s)
"""

# Facts that changed: stored rows of the participants that the re-derivation no longer
# produces exactly are deleted (their values subtracted, into *_diff); derived rows not stored
# yet are inserted (added). Unchanged facts — most of a participant's history — are not
# written.
_STOCK_GONE = """
WITH removed AS (
    DELETE FROM participant_stock_facts f
    WHERE f.participant_id = ANY(%(merged)s) AND NOT EXISTS (
        SELECT 1 FROM new_stock_facts n
        WHERE n.participant_id = f.participant_id
          AND n.scheme = f.scheme
          AND n.month = f.month
          AND n.locality_code = f.locality_code
          AND n.sex = f.sex
          AND n.birth_year = f.birth_year
          AND n.delta = f.delta)
    RETURNING f.*
)
INSERT INTO stock_diff SELECT participant_id, scheme, locality_code, month, sex, birth_year, -delta FROM removed
"""

# What is left of the participants' stored facts now equals derived facts exactly, so a derived
# row whose key is taken is unchanged and skipped.
_STOCK_CAME = """
WITH added AS (
    INSERT INTO participant_stock_facts
    SELECT * FROM new_stock_facts n WHERE NOT EXISTS (
        SELECT 1 FROM participant_stock_facts f
        WHERE f.participant_id = ANY(%(merged)s)
          AND (f.participant_id, f.scheme, f.month, f.locality_code) = (n.participant_id, n.scheme, n.month, n.locality_code))
    RETURNING *
)
INSERT INTO stock_diff SELECT * FROM added
"""

_FLOWS_GONE = """
WITH removed AS (
    DELETE FROM participant_flow_facts f
    WHERE f.participant_id = ANY(%(merged)s) AND NOT EXISTS (
        SELECT 1 FROM new_flow_facts n
        WHERE n.participant_id = f.participant_id
          AND n.scheme = f.scheme
          AND n.month = f.month
          AND n.locality_code = f.locality_code
          AND n.channel = f.channel
          AND n.agent_id = f.agent_id
          AND n.campaign = f.campaign
          AND n.new_participants = f.new_participants
          AND n.reactivations = f.reactivations
          AND n.renewals = f.renewals
          AND n.lapses = f.lapses
          AND n.withdrawals = f.withdrawals
          AND n.contributions = f.contributions
          AND n.contribution_months = f.contribution_months
          AND n.contribution_vnd = f.contribution_vnd
          AND n.campaign_enrolments = f.campaign_enrolments)
    RETURNING f.*
)
INSERT INTO flow_diff
SELECT participant_id, scheme, locality_code, month, channel, agent_id, campaign,
       -new_participants, -reactivations, -renewals, -lapses, -withdrawals, -contributions,
       -contribution_months, -contribution_vnd, -campaign_enrolments
FROM removed
"""

_FLOWS_CAME = """
WITH added AS (
    INSERT INTO participant_flow_facts
    SELECT * FROM new_flow_facts n WHERE NOT EXISTS (
        SELECT 1 FROM participant_flow_facts f
        WHERE f.participant_id = ANY(%(merged)s)
          AND (f.participant_id, f.scheme, f.month, f.locality_code, f.channel, f.agent_id, f.campaign)
            = (n.participant_id, n.scheme, n.month, n.locality_code, n.channel, n.agent_id, n.campaign))
    RETURNING *
)
INSERT INTO flow_diff SELECT * FROM added
"""

# Month-end state: the last event of each (participant, scheme, month) decides; a change of
# "active in locality X" against the previous month-end state gives -1 / +1 rows.
_NEW_STOCK = f"""
WITH person AS (
    SELECT participant_id,
           coalesce((array_agg(sex ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE sex IS NOT NULL))[1], 'unknown') AS sex,
           coalesce((array_agg(birth_year ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE birth_year IS NOT NULL))[1], 0)::smallint AS birth_year
    FROM batch_events GROUP BY participant_id
), month_end AS (
    SELECT DISTINCT ON (participant_id, scheme, month) participant_id, scheme, month,
           CASE WHEN kind IN {ACTIVATING} THEN locality_code END AS active_in
    FROM batch_events
    ORDER BY participant_id, scheme, month, occurred_at DESC, event_id DESC
), changes AS (
    SELECT participant_id, scheme, month, active_in,
           lag(active_in) OVER (PARTITION BY participant_id, scheme ORDER BY month) AS before
    FROM month_end
), facts AS (
    SELECT c.participant_id, c.scheme, c.before AS locality_code, c.month, p.sex, p.birth_year, -1 AS delta
    FROM changes c JOIN person p USING (participant_id)
    WHERE c.before IS NOT NULL AND c.before IS DISTINCT FROM c.active_in
    UNION ALL
    SELECT c.participant_id, c.scheme, c.active_in, c.month, p.sex, p.birth_year, 1
    FROM changes c JOIN person p USING (participant_id)
    WHERE c.active_in IS NOT NULL AND c.active_in IS DISTINCT FROM c.before
)
INSERT INTO new_stock_facts SELECT * FROM facts
"""

_NEW_FLOWS = f"""
WITH seq AS (
    SELECT *,
           kind IN {ACTIVATING} AS active,
           coalesce(lag(kind IN {ACTIVATING}) OVER w, false) AS was_active,
           coalesce(bool_or(kind IN {ACTIVATING}) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS ever_active
    FROM batch_events
    WINDOW w AS (PARTITION BY participant_id, scheme ORDER BY occurred_at, event_id)
), facts AS (
    SELECT participant_id, scheme, locality_code, month, channel, agent_id, coalesce(campaign, '') AS campaign,
           count(*) FILTER (WHERE active AND NOT was_active AND NOT ever_active)::int AS new_participants,
           count(*) FILTER (WHERE active AND NOT was_active AND ever_active)::int AS reactivations,
           count(*) FILTER (WHERE kind = 'renewed' AND was_active)::int AS renewals,
           count(*) FILTER (WHERE kind = 'lapsed' AND was_active)::int AS lapses,
           count(*) FILTER (WHERE kind = 'withdrawn')::int AS withdrawals,
           count(contribution_vnd)::int AS contributions,
           coalesce(sum(contribution_months) FILTER (WHERE contribution_vnd IS NOT NULL), 0)::bigint AS contribution_months,
           coalesce(sum(contribution_vnd), 0)::bigint AS contribution_vnd,
           count(*) FILTER (WHERE active AND NOT was_active AND campaign IS NOT NULL)::int AS campaign_enrolments
    FROM seq
    GROUP BY participant_id, scheme, locality_code, month, channel, agent_id, coalesce(campaign, '')
)
INSERT INTO new_flow_facts
SELECT * FROM facts
WHERE new_participants + reactivations + renewals + lapses + withdrawals + contributions > 0
"""

_UPSERT_ACTIVE = """
INSERT INTO agg_active_changes (locality_code, scheme, month, delta)
SELECT locality_code, scheme, month, sum(delta) FROM stock_diff
GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3
ON CONFLICT (locality_code, scheme, month) DO UPDATE SET delta = agg_active_changes.delta + EXCLUDED.delta
"""

_UPSERT_ACTIVE_BY_PERSON = """
INSERT INTO agg_active_changes_by_person (locality_code, scheme, month, sex, birth_year, delta)
SELECT locality_code, scheme, month, sex, birth_year, sum(delta) FROM stock_diff
GROUP BY 1, 2, 3, 4, 5 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (locality_code, scheme, month, sex, birth_year)
DO UPDATE SET delta = agg_active_changes_by_person.delta + EXCLUDED.delta
"""

_FLOW_VALUES = (
    "new_participants", "reactivations", "renewals", "lapses", "withdrawals", "contributions",
    "contribution_months", "contribution_vnd", "campaign_enrolments",
)
_UPSERT_FLOWS = f"""
INSERT INTO agg_flows (locality_code, scheme, month, channel, agent_id, {", ".join(_FLOW_VALUES)})
SELECT * FROM (
    SELECT locality_code, scheme, month, channel, agent_id, {", ".join(f"sum({c}) AS {c}" for c in _FLOW_VALUES)}
    FROM flow_diff GROUP BY 1, 2, 3, 4, 5
) net
WHERE {" OR ".join(f"{c} <> 0" for c in _FLOW_VALUES)}
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (locality_code, scheme, month, channel, agent_id) DO UPDATE SET
{", ".join(f"{c} = agg_flows.{c} + EXCLUDED.{c}" for c in _FLOW_VALUES)}
"""

_UPSERT_CAMPAIGNS = """
INSERT INTO agg_campaign_enrolments (locality_code, scheme, month, campaign, new_participants, reactivations)
SELECT locality_code, scheme, month, campaign, sum(new_participants), sum(reactivations)
FROM flow_diff WHERE campaign <> ''
GROUP BY 1, 2, 3, 4 HAVING sum(new_participants) <> 0 OR sum(reactivations) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (locality_code, scheme, month, campaign) DO UPDATE SET
    new_participants = agg_campaign_enrolments.new_participants + EXCLUDED.new_participants,
    reactivations = agg_campaign_enrolments.reactivations + EXCLUDED.reactivations
"""

_APPLY_CONFERENCES = """
WITH new AS (
    INSERT INTO conference_events SELECT * FROM staging_conferences
    ON CONFLICT (event_id) DO NOTHING
    RETURNING locality_code, month, campaign, attendees, cost_vnd, occurred_at
), summed AS (
    INSERT INTO agg_outreach (locality_code, month, campaign, conferences, attendees, cost_vnd)
    SELECT locality_code, month, campaign, count(*), sum(attendees), sum(cost_vnd)
    FROM new GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (locality_code, month, campaign) DO UPDATE SET
        conferences = agg_outreach.conferences + EXCLUDED.conferences,
        attendees = agg_outreach.attendees + EXCLUDED.attendees,
        cost_vnd = agg_outreach.cost_vnd + EXCLUDED.cost_vnd
)
SELECT count(*), max(occurred_at) FROM new
"""

_STORE_OFFSETS = """
INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, updated_at)
SELECT %s, * , now() FROM unnest(%s::text[], %s::int[], %s::bigint[])
ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
    next_offset = greatest(consumer_offsets.next_offset, EXCLUDED.next_offset),
    updated_at = EXCLUDED.updated_at
"""

_STATUS = """
UPDATE aggregation_status SET
    last_applied_at = now(),
    newest_occurred_at = CASE WHEN %(newest)s::timestamptz IS NULL THEN newest_occurred_at
                              ELSE greatest(newest_occurred_at, %(newest)s::timestamptz) END,
    events_applied = events_applied + %(applied)s,
    duplicates_skipped = duplicates_skipped + %(duplicates)s,
    conferences_applied = conferences_applied + %(conferences)s
"""


@dataclass(frozen=True)
class BatchResult:
    applied: int  # new enrolment events
    conferences: int  # new conference events
    duplicates: int  # events already stored (same event_id), skipped
    newest_occurred_at: datetime | None  # newest occurred_at among the new events


def enrolment_row(event: EnrolmentEvent, pseudonymiser: Pseudonymiser) -> tuple:
    """The staging row of an enrolment event: identifiers as pseudonyms, never raw."""
    p = event.participant
    sex = p.sex.value if p.sex else None
    birth_year = p.birth_year
    if p.personal_id:
        ident = pseudonymiser.personal_id(p.personal_id)
        linked = pseudonymiser.si_number(p.si_number) if p.si_number else None
        if sex is None or birth_year is None:
            facts = decode_personal_id(p.personal_id)
            sex = sex or facts.sex.value
            birth_year = birth_year or facts.birth_year
    else:
        ident, linked = pseudonymiser.si_number(p.si_number), None
    c = event.contribution
    return (
        event.event_id, ident, linked, event.scheme.value, event.kind.value, event.occurred_at,
        reporting_month(event.occurred_at), event.locality_code, event.agent.channel.value,
        event.agent.agent_id, sex, birth_year, c.months if c else None,
        c.amount_vnd if c else None, event.campaign,
    )


def conference_row(event: ConferenceEvent) -> tuple:
    return (
        event.event_id, event.occurred_at, reporting_month(event.occurred_at),
        event.locality_code, event.agent.channel.value, event.agent.agent_id,
        event.campaign or "", event.attendees, event.cost_vnd, event.organiser,
    )


def rows_for(events: Iterable[Event], pseudonymiser: Pseudonymiser) -> tuple[list[tuple], list[tuple]]:
    enrolments, conferences = [], []
    for e in events:
        if isinstance(e, EnrolmentEvent):
            enrolments.append(enrolment_row(e, pseudonymiser))
        else:
            conferences.append(conference_row(e))
    return enrolments, conferences


Offsets = dict[tuple[str, int], int]  # (topic, partition) -> next offset to read


def apply_batch(
    conn: psycopg.Connection,
    enrolments: Sequence[tuple],
    conferences: Sequence[tuple],
    offsets: Offsets | None = None,
    consumer_group: str = "",
) -> BatchResult:
    """Apply one batch in one transaction (committed on return). Idempotent per event_id."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK,))
        cur.execute(_TEMP_TABLES)
        applied, newest = _apply_enrolments(cur, enrolments)
        new_conferences, newest_conference = 0, None
        if conferences:
            _copy(cur, "staging_conferences", CONFERENCE_COLUMNS, conferences)
            new_conferences, newest_conference = cur.execute(_APPLY_CONFERENCES).fetchone()
        if offsets:
            keys = sorted(offsets)
            cur.execute(_STORE_OFFSETS, (consumer_group, [t for t, _ in keys], [p for _, p in keys],
                                         [offsets[k] for k in keys]))
        newest = max((t for t in (newest, newest_conference) if t is not None), default=None)
        result = BatchResult(
            applied=applied,
            conferences=new_conferences,
            duplicates=len(enrolments) + len(conferences) - applied - new_conferences,
            newest_occurred_at=newest,
        )
        cur.execute(_STATUS, {"newest": newest, "applied": applied,
                              "duplicates": result.duplicates, "conferences": new_conferences})
    return result


def _copy(cur: psycopg.Cursor, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _apply_enrolments(cur: psycopg.Cursor, rows: Sequence[tuple]) -> tuple[int, datetime | None]:
    if not rows:
        return 0, None
    _copy(cur, "staging_events", EVENT_COLUMNS, rows)
    new = cur.execute(_INSERT_NEW_EVENTS).fetchall()
    if not new:
        return 0, None
    links = [(ident, linked) for ident, linked, _ in new]
    identifiers = list({i for pair in links for i in pair if i is not None})
    known = dict(cur.execute(_KNOWN, (identifiers,)).fetchall())
    resolution = resolve(links, known)

    assign = dict(resolution.assign)
    if resolution.new_groups:
        numbers = [n for (n,) in cur.execute(
            "SELECT nextval('participant_id_seq') FROM generate_series(1, %s)",
            (len(resolution.new_groups),),
        )]
        for number, group in zip(numbers, resolution.new_groups):
            assign.update((ident, number) for ident in group)
    if resolution.merges:
        losers = sorted(resolution.merges)
        cur.execute(_MERGE, (losers, [resolution.merges[x] for x in losers]))
    if assign:
        idents = sorted(assign)
        cur.execute(_ASSIGN, (idents, [assign[i] for i in idents]))

    merged = sorted(resolution.touched | set(assign.values()))
    affected = sorted(set(merged) - set(resolution.merges))
    params = {"affected": affected, "merged": merged}
    cur.execute(_LOAD_TIMELINES, params)
    for statement in (_NEW_STOCK, _NEW_FLOWS, _STOCK_GONE, _STOCK_CAME, _FLOWS_GONE, _FLOWS_CAME,
                      _UPSERT_ACTIVE, _UPSERT_ACTIVE_BY_PERSON, _UPSERT_FLOWS, _UPSERT_CAMPAIGNS):
        cur.execute(statement, params)
    return len(new), max(t for _, _, t in new)


def read_aggregates(conn: psycopg.Connection) -> Tables:
    """The agg_* tables in the shape of `service.domain.aggregation.aggregate` (rows whose
    values are all zero left out: a re-derivation can leave such rows behind; they mean
    nothing to any sum)."""
    out: Tables = {}
    for table, keys in TABLE_KEYS.items():
        values = TABLE_VALUES[table]
        rows = conn.execute(
            f"SELECT {', '.join(keys + values)} FROM {table} WHERE {' OR '.join(f'{v} <> 0' for v in values)}"
        ).fetchall()
        out[table] = {tuple(r[: len(keys)]): tuple(r[len(keys):]) for r in rows}
    return out


def stored_offsets(conn: psycopg.Connection, consumer_group: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> next offset to read, as applied by `consumer_group`."""
    rows = conn.execute(
        "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer_group = %s",
        (consumer_group,),
    ).fetchall()
    return {(t, p): o for t, p, o in rows}


def forget_consumer_offsets(url: str) -> None:
    """Drop stored offsets: for a new broker whose topics number offsets from zero again
    (the events already applied stay; re-sent ones are deduplicated)."""
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM consumer_offsets")
