"""Applying a batch of events to the aggregates: one transaction, a handful of set-based
statements, whatever the batch size.

Per batch: binary COPY into a temp staging table -> INSERT … ON CONFLICT DO NOTHING into the
event store (dedupe by event_id; conferences and retractions likewise) -> the apply lock ->
the retractions that can be judged now are judged and applied (`retractions.py`: one statement
when there are none) -> identity resolution (pure domain, on
the batch's identifiers and their known participant numbers) -> the new events tagged with
their participant, the touched participants' state rows (participant_scheme_state) read ->
participants whose new events are all later than their last stored event, with no merge and
no change of sex / birth year, are *appended*: window functions over the new events seeded
from the state row give the changes, no history is read; the others are *re-derived*: their
stored events before the batch (sign -1) and after it (sign +1) go through the same window
functions, the sum is the exact change -> one grouped upsert per agg_* table with the net change, rows in key order ->
store the offsets -> COMMIT (the statements after the last one whose result is needed are
pipelined: one round trip). The caller commits Kafka offsets only after that.

Applies are serialised with a transaction-level lock (`locks.APPLY_LOCK`, a table lock no
reporting login can take or block): a participant's events may sit
in several partitions (SI-number-only and personal-id events hash differently), so two
consumers could otherwise re-derive one participant from two different snapshots. What needs
no shared state (staging, storing the events) runs before the lock, so one worker's apply
overlaps with the next one's preparation. Another worker's stored but uncommitted events are
invisible to the apply that holds the lock, and its own are "new": each apply sees exactly
the committed applies before it plus its own batch.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ...domain.aggregation import TABLE_KEYS, TABLE_VALUES, Tables
from ...domain.identity import Pseudonymiser, decode_personal_id
from ...domain.model import ConferenceEvent, Event, PlainEnrolment, RetractionEvent, reporting_month
from ...domain.participants import resolve
from . import outbox, retractions
from .retractions import RETRACTION_COLUMNS, RefusedRetraction
from .locks import TAKE_APPLY_LOCK, TAKE_SWAP_LOCK_SHARED
from .rows import Statement, one_row


ACTIVATING = "('registered', 'renewed')"

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

# JIT off: the apply's statements are short, but the planner, without statistics on the temp
# tables, can cost them in the millions, and compiling them took ~100 µs per event on a JIT-
# capable server (e.g. the postgres:16 image), against ~50 µs for the whole apply without it.
_SESSION = f"""
SET LOCAL jit = off;
{TAKE_SWAP_LOCK_SHARED};
CREATE TEMP TABLE IF NOT EXISTS staging_events (LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staging_conferences (LIKE conference_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS inserted_events (LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS inserted_conferences (LIKE conference_events) ON COMMIT DELETE ROWS;
{retractions.TEMP_TABLES}
CREATE TEMP TABLE IF NOT EXISTS new_events (participant_id bigint, LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS prior_state (LIKE participant_scheme_state) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rederived (participant_id bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS timeline (sign integer, participant_id bigint, LIKE enrolment_events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stock_diff (
    scheme text, locality_code text, month date, sex text, birth_year smallint, delta integer
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS flow_diff (
    scheme text, locality_code text, month date, channel text, agent_id text, campaign text,
    new_participants integer, reactivations integer, renewals integer, lapses integer, withdrawals integer,
    contributions integer, contribution_months integer, contribution_vnd bigint, campaign_enrolments integer
) ON COMMIT DELETE ROWS;
"""

# ON COMMIT DELETE ROWS empties them after each batch; an apply inside a caller's open
# transaction (the replay's catch-up under the swap lock) must empty them itself.
_CLEAR_TEMP = "; ".join(f"DELETE FROM {t}" for t in (
    "staging_events", "staging_conferences", "inserted_events", "inserted_conferences", "new_events", "prior_state",
    "rederived", "timeline", "stock_diff", "flow_diff", *retractions.TEMP_TABLE_NAMES))

# Dedupe by event_id, before the apply lock: storing the events needs no shared state, so
# another worker's apply runs meanwhile. A duplicate of an event that another transaction
# has inserted and not yet committed waits for that commit here (then skips it), and that
# transaction never waits for this one's rows: the apply lock's holder writes only the
# tables below, not enrolment_events.
_STORE_EVENTS = """
WITH inserted AS (
    INSERT INTO enrolment_events SELECT * FROM staging_events
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *
)
INSERT INTO inserted_events SELECT * FROM inserted
"""

_STORE_CONFERENCES = """
WITH inserted AS (
    INSERT INTO conference_events SELECT * FROM staging_conferences
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *
)
INSERT INTO inserted_conferences SELECT * FROM inserted
"""

# The batch's enrolments stored before (run only when some rows were not inserted): those whose
# content differs (conflicts) and those retracted (their links count for nothing), in the one
# join the conflict check makes anyway.
_STORED_BEFORE = """
SELECT DISTINCT s.event_id, s.content_digest, s.content_digest <> e.content_digest
FROM staging_events s JOIN enrolment_events e USING (event_id)
WHERE s.content_digest <> e.content_digest OR e.retracted
"""

# One event id, two contents: the batch's rows whose stored event (stored before, or by the
# other copy in this batch) has another content digest. A NULL digest (stored before digests
# existed) is unknown content: no conflict. Run only when some rows were not inserted.
_CONFLICTS = """
SELECT DISTINCT s.event_id, s.content_digest FROM {staging} s JOIN {store} e USING (event_id)
WHERE s.content_digest <> e.content_digest
"""

# The new events, with the participant number each belongs to after this batch's identity
# resolution (computed beforehand in Python, passed as arrays), go on, and the state rows of
# their participants are read.
_TAG_NEW_EVENTS = """
WITH new AS (
    INSERT INTO new_events
    SELECT m.participant_id, i.*
    FROM inserted_events i JOIN unnest(%b::bytea[], %b::bigint[]) AS m(identifier, participant_id) ON m.identifier = i.ident
    RETURNING participant_id, occurred_at
), prior AS (
    INSERT INTO prior_state
    SELECT s.* FROM (SELECT DISTINCT participant_id FROM new) n
    CROSS JOIN LATERAL (  -- OFFSET 0: an index lookup per participant, never a scan
        SELECT * FROM participant_scheme_state s WHERE s.participant_id = n.participant_id OFFSET 0) s
)
SELECT count(*), max(occurred_at) FROM new
"""

_KNOWN = "SELECT identifier, participant_id FROM participant_identifiers WHERE identifier = ANY(%b)"

_ASSIGN = """
INSERT INTO participant_identifiers (identifier, participant_id)
SELECT * FROM unnest(%b::bytea[], %b::bigint[])
ON CONFLICT (identifier) DO UPDATE SET participant_id = EXCLUDED.participant_id
"""

_MERGE = """
UPDATE participant_identifiers p SET participant_id = m.winner
FROM unnest(%s::bigint[], %s::bigint[]) AS m(loser, winner)
WHERE p.participant_id = m.loser
"""

# Participants whose new events cannot simply be appended: an event not later than the last
# stored one of its scheme (late), or a sex / birth year other than the participant's (the
# breakdown of every month-end stock of the participant changes).
_NEEDS_REDERIVATION = """
WITH needs AS (
    SELECT n.participant_id
    FROM new_events n JOIN prior_state s USING (participant_id)
    WHERE (s.scheme = n.scheme AND (n.occurred_at, n.event_id) < (s.last_occurred_at, s.last_event_id))
       OR n.sex <> s.sex OR n.birth_year <> s.birth_year
    UNION
    SELECT unnest(%s::bigint[])  -- merged participants
)
INSERT INTO rederived SELECT * FROM needs
RETURNING participant_id
"""

_COLUMNS = ", ".join(EVENT_COLUMNS)

# Re-derivation: the stored events of the participants before this batch (under their old
# numbers, identifier map not yet updated) count with sign -1, the same events under the new
# numbers plus the new events with sign +1; their sum is exactly the change.
_LOAD_HISTORY = f"""
WITH history AS (
    SELECT i.participant_id AS old_id, coalesce(m.winner, i.participant_id) AS new_id, e.*
    FROM participant_identifiers i
    -- OFFSET 0: not flattened, so always an index lookup per identifier (never a scan of the store)
    CROSS JOIN LATERAL (SELECT * FROM enrolment_events e WHERE e.ident = i.identifier OFFSET 0) e
    LEFT JOIN unnest(%(losers)s::bigint[], %(winners)s::bigint[]) AS m(loser, winner) ON m.loser = i.participant_id
    -- NOT IN: a hashed subplan, whatever the estimate of the rows around it (a NOT EXISTS became a
    -- nested loop over new_events when `retracted IS NULL`, never analysed, looked selective)
    WHERE i.participant_id = ANY(%(old)s) AND e.retracted IS NULL
      AND e.event_id NOT IN (SELECT event_id FROM new_events)
)
INSERT INTO timeline
SELECT -1, old_id, {_COLUMNS} FROM history
UNION ALL
SELECT 1, new_id, {_COLUMNS} FROM history
UNION ALL
SELECT 1, participant_id, {_COLUMNS} FROM new_events n
WHERE EXISTS (SELECT 1 FROM rederived r WHERE r.participant_id = n.participant_id)
"""

_STATE_UPSERT = """
ON CONFLICT (participant_id, scheme) DO UPDATE SET
    last_occurred_at = EXCLUDED.last_occurred_at, last_event_id = EXCLUDED.last_event_id,
    last_month = EXCLUDED.last_month, active_in = EXCLUDED.active_in,
    before_active_in = EXCLUDED.before_active_in, ever_active = EXCLUDED.ever_active,
    sex = EXCLUDED.sex, birth_year = EXCLUDED.birth_year
"""

# Month-end state: the last event of each (participant, scheme, month) decides; a change of
# "active in locality X" against the previous month-end state gives -1 / +1 rows.
_REDERIVE_STOCK = f"""
WITH person AS (
    SELECT sign, participant_id,
           coalesce((array_agg(sex ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE sex IS NOT NULL))[1], 'unknown') AS sex,
           coalesce((array_agg(birth_year ORDER BY occurred_at DESC, event_id DESC)
                     FILTER (WHERE birth_year IS NOT NULL))[1], 0)::smallint AS birth_year
    FROM timeline GROUP BY sign, participant_id
), ever AS (
    SELECT participant_id, scheme, bool_or(kind IN {ACTIVATING}) AS ever_active
    FROM timeline WHERE sign = 1 GROUP BY participant_id, scheme
), month_end AS (
    SELECT DISTINCT ON (sign, participant_id, scheme, month) sign, participant_id, scheme, month, occurred_at, event_id,
           CASE WHEN kind IN {ACTIVATING} THEN locality_code END AS active_in
    FROM timeline
    ORDER BY sign, participant_id, scheme, month, occurred_at DESC, event_id DESC
), changes AS (
    SELECT m.*, p.sex, p.birth_year,
           lag(active_in) OVER (PARTITION BY sign, participant_id, scheme ORDER BY month) AS before
    FROM month_end m JOIN person p USING (sign, participant_id)
), state AS (
    INSERT INTO participant_scheme_state
    SELECT DISTINCT ON (c.participant_id, c.scheme) c.participant_id, c.scheme, c.occurred_at, c.event_id,
           c.month, c.active_in, c.before, v.ever_active, c.sex, c.birth_year
    FROM changes c JOIN ever v USING (participant_id, scheme)
    WHERE c.sign = 1
    ORDER BY c.participant_id, c.scheme, c.month DESC
    {_STATE_UPSERT}
)
INSERT INTO stock_diff
SELECT scheme, before, month, sex, birth_year, -sign FROM changes
WHERE before IS NOT NULL AND before IS DISTINCT FROM active_in
UNION ALL
SELECT scheme, active_in, month, sex, birth_year, sign FROM changes
WHERE active_in IS NOT NULL AND active_in IS DISTINCT FROM before
"""


def _flow_sums(sign: str) -> str:
    counted = {
        "new_participants": "active AND NOT was_active AND NOT ever_active",
        "reactivations": "active AND NOT was_active AND ever_active",
        "renewals": "kind = 'renewed' AND was_active",
        "lapses": "kind = 'lapsed' AND was_active",
        "withdrawals": "kind = 'withdrawn'",
        "contributions": "contribution_vnd IS NOT NULL",
    }
    sums = [f"coalesce(sum({sign}) FILTER (WHERE {cond}), 0)" for cond in counted.values()]
    sums += [
        f"coalesce(sum({sign} * contribution_months) FILTER (WHERE contribution_vnd IS NOT NULL), 0)",
        f"coalesce(sum({sign} * contribution_vnd), 0)",
        f"coalesce(sum({sign}) FILTER (WHERE active AND NOT was_active AND campaign IS NOT NULL), 0)",
    ]
    return ", ".join(sums)


_FLOW_GROUP = "scheme, locality_code, month, channel, agent_id, coalesce(campaign, '')"

_REDERIVE_FLOWS = f"""
WITH seq AS (
    SELECT *,
           kind IN {ACTIVATING} AS active,
           coalesce(lag(kind IN {ACTIVATING}) OVER w, false) AS was_active,
           count(*) FILTER (WHERE kind IN {ACTIVATING}) OVER w > (kind IN {ACTIVATING})::int AS ever_active
    FROM timeline
    WINDOW w AS (PARTITION BY sign, participant_id, scheme ORDER BY occurred_at, event_id)
)
INSERT INTO flow_diff
SELECT {_FLOW_GROUP}, {_flow_sums("sign")}
FROM seq GROUP BY {_FLOW_GROUP}
"""

_FORGET_MERGED = "DELETE FROM participant_scheme_state WHERE participant_id = ANY(%s)"

# Appending on-time events: the state row stands for the participant's history. Its sex and
# birth year are unchanged (checked above); a participant new to the store takes them from its
# new events. If the first new month is the state's last month, that month-end is re-stated:
# its old change (before -> active_in) is taken back and the new one counted.
_APPEND_STOCK = f"""
WITH fast AS (  -- only the columns used below: it is materialised (read three times)
    SELECT participant_id, scheme, kind, occurred_at, event_id, month, locality_code, sex, birth_year
    FROM new_events n WHERE NOT EXISTS (SELECT 1 FROM rederived r WHERE r.participant_id = n.participant_id)
), person AS (
    SELECT f.participant_id,
           coalesce(min(s.sex), (array_agg(f.sex ORDER BY f.occurred_at DESC, f.event_id DESC)
                                 FILTER (WHERE f.sex IS NOT NULL))[1], 'unknown') AS sex,
           coalesce(min(s.birth_year), (array_agg(f.birth_year ORDER BY f.occurred_at DESC, f.event_id DESC)
                                        FILTER (WHERE f.birth_year IS NOT NULL))[1], 0)::smallint AS birth_year
    FROM fast f LEFT JOIN prior_state s USING (participant_id)
    GROUP BY f.participant_id
), ever AS (
    SELECT participant_id, scheme, bool_or(kind IN {ACTIVATING}) AS ever_active
    FROM fast GROUP BY participant_id, scheme
), month_end AS (
    SELECT DISTINCT ON (participant_id, scheme, month) participant_id, scheme, month, occurred_at, event_id,
           CASE WHEN kind IN {ACTIVATING} THEN locality_code END AS active_in
    FROM fast
    ORDER BY participant_id, scheme, month, occurred_at DESC, event_id DESC
), changes AS (
    SELECT m.*, p.sex, p.birth_year,
           (m.month = s.last_month) IS TRUE AS restates,
           s.before_active_in AS old_before, s.active_in AS old_active_in,
           coalesce(s.ever_active, false) AS was_ever_active,
           CASE WHEN row_number() OVER w = 1
                THEN CASE WHEN m.month = s.last_month THEN s.before_active_in ELSE s.active_in END
                ELSE lag(m.active_in) OVER w END AS before
    FROM month_end m
    JOIN person p USING (participant_id)
    LEFT JOIN prior_state s USING (participant_id, scheme)
    WINDOW w AS (PARTITION BY m.participant_id, m.scheme ORDER BY m.month)
), state AS (
    INSERT INTO participant_scheme_state
    SELECT DISTINCT ON (c.participant_id, c.scheme) c.participant_id, c.scheme, c.occurred_at, c.event_id,
           c.month, c.active_in, c.before, c.was_ever_active OR v.ever_active, c.sex, c.birth_year
    FROM changes c JOIN ever v USING (participant_id, scheme)
    ORDER BY c.participant_id, c.scheme, c.month DESC
    {_STATE_UPSERT}
)
INSERT INTO stock_diff
SELECT scheme, before, month, sex, birth_year, -1 FROM changes
WHERE before IS NOT NULL AND before IS DISTINCT FROM active_in
UNION ALL
SELECT scheme, active_in, month, sex, birth_year, 1 FROM changes
WHERE active_in IS NOT NULL AND active_in IS DISTINCT FROM before
UNION ALL
SELECT scheme, old_before, month, sex, birth_year, 1 FROM changes
WHERE restates AND old_before IS NOT NULL AND old_before IS DISTINCT FROM old_active_in
UNION ALL
SELECT scheme, old_active_in, month, sex, birth_year, -1 FROM changes
WHERE restates AND old_active_in IS NOT NULL AND old_active_in IS DISTINCT FROM old_before
"""

_APPEND_FLOWS = f"""
WITH seq AS (
    SELECT f.*,
           f.kind IN {ACTIVATING} AS active,
           coalesce(lag(f.kind IN {ACTIVATING}) OVER w, s.active_in IS NOT NULL) AS was_active,
           count(*) FILTER (WHERE f.kind IN {ACTIVATING}) OVER w > (f.kind IN {ACTIVATING})::int
               OR coalesce(s.ever_active, false) AS ever_active
    FROM new_events f LEFT JOIN prior_state s USING (participant_id, scheme)
    WHERE NOT EXISTS (SELECT 1 FROM rederived r WHERE r.participant_id = f.participant_id)
    WINDOW w AS (PARTITION BY f.participant_id, f.scheme ORDER BY f.occurred_at, f.event_id)
)
INSERT INTO flow_diff
SELECT {_FLOW_GROUP}, {_flow_sums("1")}
FROM seq GROUP BY {_FLOW_GROUP}
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
INSERT INTO agg_flows (month, locality_code, scheme, channel, agent_id, {", ".join(_FLOW_VALUES)})
SELECT * FROM (
    SELECT month, locality_code, scheme, channel, agent_id, {", ".join(f"sum({c}) AS {c}" for c in _FLOW_VALUES)}
    FROM flow_diff GROUP BY 1, 2, 3, 4, 5
) net
WHERE {" OR ".join(f"{c} <> 0" for c in _FLOW_VALUES)}
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (month, locality_code, scheme, channel, agent_id) DO UPDATE SET
{", ".join(f"{c} = agg_flows.{c} + EXCLUDED.{c}" for c in _FLOW_VALUES)}
"""

_UPSERT_CAMPAIGNS = """
INSERT INTO agg_campaign_enrolments (month, locality_code, scheme, campaign, new_participants, reactivations)
SELECT month, locality_code, scheme, campaign, sum(new_participants), sum(reactivations)
FROM flow_diff WHERE campaign <> ''
GROUP BY 1, 2, 3, 4 HAVING sum(new_participants) <> 0 OR sum(reactivations) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (month, locality_code, scheme, campaign) DO UPDATE SET
    new_participants = agg_campaign_enrolments.new_participants + EXCLUDED.new_participants,
    reactivations = agg_campaign_enrolments.reactivations + EXCLUDED.reactivations
"""

# The batch's new conferences that no retraction took out (retractions.apply deletes those).
_COUNT_CONFERENCES = """
WITH summed AS (
    INSERT INTO agg_outreach (locality_code, month, campaign, conferences, attendees, cost_vnd)
    SELECT locality_code, month, campaign, count(*), sum(attendees), sum(cost_vnd)
    FROM inserted_conferences GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (locality_code, month, campaign) DO UPDATE SET
        conferences = agg_outreach.conferences + EXCLUDED.conferences,
        attendees = agg_outreach.attendees + EXCLUDED.attendees,
        cost_vnd = agg_outreach.cost_vnd + EXCLUDED.cost_vnd
)
SELECT count(*), max(occurred_at) FROM inserted_conferences
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
    conferences_applied = conferences_applied + %(conferences)s,
    retractions_received = retractions_received + %(retractions)s,
    events_retracted = events_retracted + %(retracted)s
"""


@dataclass(frozen=True)
class BatchResult:
    applied: int  # new enrolment events
    conferences: int  # new conference events
    duplicates: int  # events already stored (same event_id), skipped
    newest_occurred_at: datetime | None  # newest occurred_at among the new events
    rederived: int = 0  # participants re-derived from their history (late events, merges, attributes)
    # Applies are serialised by APPLY_LOCK: the time spent waiting for it, and holding it until
    # the commit (inside a caller's transaction, as in the replay's catch-up: until this apply
    # ends). Summed over the workers, held time near the wall time means the serialised part is
    # the bottleneck (more consumer processes would only wait longer).
    lock_wait_s: float = 0.0
    lock_held_s: float = 0.0
    # (event_id, content_digest) of the batch's rows that reuse a stored event's id with other
    # content: not applied (counted in `duplicates`); the caller dead-letters them.
    conflicts: frozenset[tuple] = frozenset()
    retractions: int = 0  # new retraction events
    retracted: int = 0  # events that stopped counting (retracted now, by this batch's or earlier retractions)
    retracted_on_arrival: int = 0  # of the batch's new events, those never counted (retracted already)
    # Retractions refused now (the sender may not retract the event): the caller dead-letters
    # them, those of earlier batches from the stored record.
    refused_retractions: tuple[RefusedRetraction, ...] = ()


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


# Which staging list (and store) a decoded event's row goes to.
ENROLMENT, CONFERENCE, RETRACTION = retractions.ENROLMENT, retractions.CONFERENCE, retractions.RETRACTION


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
    """(enrolment, conference, retraction) staging rows: `apply_batch(conn, *rows_for(events, p))`."""
    rows: dict[str, list[tuple]] = {ENROLMENT: [], CONFERENCE: [], RETRACTION: []}
    for e in events:
        table, row = event_row(e, pseudonymiser)
        rows[table].append(row)
    return rows[ENROLMENT], rows[CONFERENCE], rows[RETRACTION]


Offsets = dict[tuple[str, int], int]  # (topic, partition) -> next offset to read


def apply_batch(
    conn: psycopg.Connection,
    enrolments: Sequence[tuple],
    conferences: Sequence[tuple],
    retraction_rows: Sequence[tuple] = (),
    offsets: Offsets | None = None,
    consumer_group: str = "",
    locked_python: AbstractContextManager = nullcontext(),
    forget_outbox: bool = True,
) -> BatchResult:
    """Apply one batch in one transaction (committed on return). Idempotent per event_id.
    With `forget_outbox` (the live consumer) the outbox rows of the batch's events go in the
    same transaction; a rebuild leaves them to the live consumer.
    `locked_python` is entered while this apply holds the lock and runs Python (identity
    resolution, the tagging statements' parameters), and left before the last statements are
    sent: a caller can keep its other threads off the GIL during that serialised stretch."""
    # The batch's identifiers, before the lock: less Python while other workers wait.
    links = {(row[1], row[2]) for row in enrolments}
    retracted_before: set = set()  # ids of the batch's enrolments that were retracted before it
    nested = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_SESSION)
        if nested:
            cur.execute(_CLEAR_TEMP)
        # Before the lock: staging (this session's own) and storing the events (no shared state),
        # so that other workers' applies wait only for what reads and writes shared state.
        conflicts: set[tuple] = set()
        stored = [_store(cur, "staging_conferences", "conference_events", CONFERENCE_COLUMNS, conferences,
                         _STORE_CONFERENCES, conflicts),
                  _store(cur, "staging_retractions", "event_retractions", RETRACTION_COLUMNS, retraction_rows,
                         retractions.STORE, conflicts),
                  _store(cur, "staging_events", "enrolment_events", EVENT_COLUMNS, enrolments, _STORE_EVENTS,
                         conflicts, EVENT_TYPES, with_retracted=retracted_before)]
        if retracted_before or conflicts:  # copies of retracted events, other content under a taken id:
            links = _links(enrolments, retracted_before, conflicts)  # their links count for nothing
        waiting = time.monotonic()
        cur.execute(TAKE_APPLY_LOCK)
        locked = time.monotonic()
        with locked_python:
            verdicts = retractions.judge(cur)
            retracted = retractions.apply(cur, verdicts, _COLUMNS, [_REDERIVE_STOCK, _REDERIVE_FLOWS]) \
                if verdicts.any else retractions.Retracted(0, 0, 0)
            if verdicts.retracted_enrolments:  # their links (re-sent copies' too) count for nothing
                links = _links(enrolments, retracted_before | set(verdicts.retracted_enrolments), conflicts)
            new_conferences, newest_conference = 0, None
            if conferences:
                new_conferences, newest_conference = one_row(cur.execute(_COUNT_CONFERENCES, prepare=False))
            identifiers = sorted({i for pair in links for i in pair if i is not None})
            applied, newest, rederived, statements = _apply_enrolments(cur, links, identifiers)
            if retracted.rederived and not applied:  # the retractions' changes, summed up alone
                statements += [(s, None) for s in _UPSERT_DIFFS]
        newest = max((t for t in (newest, newest_conference) if t is not None), default=None)
        duplicates = len(enrolments) + len(conferences) + len(retraction_rows) - sum(stored)
        if offsets:
            keys = sorted(offsets)
            statements.append((_STORE_OFFSETS, (consumer_group, [t for t, _ in keys], [p for _, p in keys],
                                                [offsets[k] for k in keys])))
        if forget_outbox:
            statements.append((outbox.FORGET_APPLIED, None))
        statements.append((_STATUS, {"newest": newest, "applied": applied, "duplicates": duplicates,
                                     "conferences": new_conferences, "retractions": stored[1],
                                     "retracted": retracted.events}))
        # prepare=False throughout: a plan cached while the temp tables were small would stay in
        # use when they are ten times larger (a nested loop took 270 ms in one batch); planning
        # each statement for the batch in hand costs ~1 ms.
        with conn.pipeline():  # no results needed from here on: one round trip, not one per statement
            for statement, params in statements:
                cur.execute(statement, params, prepare=False)
    committed = time.monotonic()
    return BatchResult(applied=applied, conferences=new_conferences, duplicates=duplicates,
                       newest_occurred_at=newest, rederived=rederived + retracted.rederived,
                       lock_wait_s=locked - waiting, lock_held_s=committed - locked, conflicts=frozenset(conflicts),
                       retractions=stored[1], retracted=retracted.events,
                       retracted_on_arrival=stored[0] + stored[2] - new_conferences - applied,
                       refused_retractions=tuple(verdicts.refused))


def _store(cur: psycopg.Cursor, staging: str, store: str, columns: Sequence[str], rows: Sequence[tuple],
           statement: str, conflicts: set[tuple], types: Sequence[str] | None = None,
           with_retracted: set | None = None) -> int:
    """Stage `rows` and store those new to `store` (dedupe by event_id); returns how many were
    new, and adds the rows that reuse a stored id with other content to `conflicts` (and, for
    enrolments, the ids of those stored and retracted before to `with_retracted`)."""
    if not rows:
        return 0
    _copy(cur, staging, columns, rows, types)
    cur.execute(statement, prepare=False)
    inserted = cur.rowcount
    if inserted < len(rows):
        if with_retracted is None:
            conflicts.update(_conflicts(cur, staging, store))
        else:
            for event_id, digest, conflict in cur.execute(_STORED_BEFORE, prepare=False):
                if conflict:
                    conflicts.add((event_id, digest))
                else:
                    with_retracted.add(event_id)
    return inserted


def _links(enrolments: Sequence[tuple], retracted: set, conflicts: set[tuple]) -> set[tuple[bytes, bytes | None]]:
    """(ident, linked_ident) of the rows of events that count (not retracted, not a conflicting copy)."""
    return {(row[1], row[2]) for row in enrolments if row[0] not in retracted and (row[0], row[-1]) not in conflicts}


# stock_diff and flow_diff, netted, into the agg_* tables.
_UPSERT_DIFFS = (_UPSERT_ACTIVE, _UPSERT_ACTIVE_BY_PERSON, _UPSERT_FLOWS, _UPSERT_CAMPAIGNS)


def _conflicts(cur: psycopg.Cursor, staging: str, store: str) -> list[tuple]:
    return cur.execute(_CONFLICTS.format(staging=staging, store=store), prepare=False).fetchall()


def _copy(cur: psycopg.Cursor, table: str, columns: Sequence[str], rows: Iterable[tuple],
          types: Sequence[str] | None = None) -> None:
    """COPY rows in; binary when `types` is given (PostgreSQL then parses no text)."""
    binary = " (FORMAT BINARY)" if types else ""
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN{binary}") as copy:
        if types:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _apply_enrolments(
    cur: psycopg.Cursor, links: set[tuple[bytes, bytes | None]], identifiers: list[bytes],
) -> tuple[int, datetime | None, int, list[Statement]]:
    """(new events, newest occurred_at among them, participants re-derived, the statements
    left to run: none of them returns anything the caller needs). The batch's events are
    stored, the new ones in inserted_events, already; `links` are their (ident, linked_ident)
    pairs, `identifiers` every identifier among them, sorted."""
    if not links:
        return 0, None, 0, []
    # Identity is resolved over every delivered event: a re-sent one's identifiers are one
    # participant already, so it changes nothing, and the event insert needs the numbers.
    known: dict[bytes, int] = dict(cur.execute(_KNOWN, (identifiers,)).fetchall())
    # An event naming one known identifier changes no identity: only the others go through
    # the union-find, with the known numbers of their own identifiers (a merge elsewhere in the
    # batch still renumbers the rest, below, through `merges`).
    changing = [(i, j) for i, j in links if j is not None or i not in known]
    resolution = resolve(changing, {i: known[i] for pair in changing for i in pair if i in known})

    assign = dict(resolution.assign)
    if resolution.new_groups:
        numbers = [n for (n,) in cur.execute(
            "SELECT nextval('participant_id_seq') FROM generate_series(1, %s)",
            (len(resolution.new_groups),),
        )]
        for number, group in zip(numbers, resolution.new_groups):
            assign.update((ident, number) for ident in group)
    merges = resolution.merges
    participants = [assign[i] if i in assign else merges.get(known[i], known[i]) for i in identifiers]
    applied, newest = one_row(cur.execute(_TAG_NEW_EVENTS, (identifiers, participants), prepare=False))
    if not applied:
        return 0, None, 0, []
    losers = sorted(merges)
    winners = [merges[x] for x in losers]
    rederive = [p for (p,) in cur.execute(_NEEDS_REDERIVATION, (sorted(set(winners)),), prepare=False)]
    statements: list[Statement] = []
    if rederive:  # read before the identifier map changes: the old numbers are needed
        statements.append((_LOAD_HISTORY, {"old": sorted(set(rederive) | set(losers)), "losers": losers,
                                           "winners": winners}))
    if losers:
        statements.append((_MERGE, (losers, winners)))
    if assign:
        ids = sorted(assign)
        statements.append((_ASSIGN, (ids, [assign[i] for i in ids])))
    if rederive:
        statements += [(_REDERIVE_STOCK, None), (_REDERIVE_FLOWS, None)]
    if losers:
        statements.append((_FORGET_MERGED, (losers,)))
    statements += [(s, None) for s in (_APPEND_STOCK, _APPEND_FLOWS, *_UPSERT_DIFFS)]
    return applied, newest, len(rederive), statements


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
