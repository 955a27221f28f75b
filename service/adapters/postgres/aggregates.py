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

The statements are in `sql/aggregates/` and `sql/retractions/` (rendered once by `apply_sql`);
the staging rows are built by `staging_rows`.

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
from datetime import datetime

import psycopg
from psycopg import sql

from ...domain.aggregation import TABLE_KEYS, TABLE_VALUES, Tables
from ...domain.participants import resolve
from ...service_layer.applying import BatchResult, Offsets
from . import apply_sql, outbox, retractions, sql_files
from .apply_sql import statement
from .locks import take_apply_lock
from .rows import Statement, one_row
from .staging_rows import CONFERENCE_COLUMNS, EVENT_COLUMNS, EVENT_TYPES, RETRACTION_COLUMNS


def apply_rows(
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
        cur.execute(statement("aggregates", "session"))
        if nested:
            cur.execute(apply_sql.clear_temp())
        # Before the lock: staging (this session's own) and storing the events (no shared state),
        # so that other workers' applies wait only for what reads and writes shared state.
        conflicts: set[tuple] = set()
        stored = [_store(cur, "conference_events", "staging_conferences", "inserted_conferences",
                         CONFERENCE_COLUMNS, conferences, conflicts),
                  _store(cur, "event_retractions", "staging_retractions", "inserted_retractions",
                         RETRACTION_COLUMNS, retraction_rows, conflicts),
                  _store(cur, "enrolment_events", "staging_events", "inserted_events", EVENT_COLUMNS, enrolments,
                         conflicts, EVENT_TYPES, with_retracted=retracted_before)]
        if retracted_before or conflicts:  # copies of retracted events, other content under a taken id:
            links = _links(enrolments, retracted_before, conflicts)  # their links count for nothing
        waiting = time.monotonic()
        cur.execute(take_apply_lock())
        locked = time.monotonic()
        with locked_python:
            verdicts = retractions.judge(cur)
            rederive = [statement("aggregates", "rederive_stock"), statement("aggregates", "rederive_flows")]
            retracted = retractions.apply(cur, verdicts, rederive) if verdicts.any \
                else retractions.Retracted(0, 0, 0)
            if verdicts.retracted_enrolments:  # their links (re-sent copies' too) count for nothing
                links = _links(enrolments, retracted_before | set(verdicts.retracted_enrolments), conflicts)
            new_conferences, newest_conference = 0, None
            if conferences:
                new_conferences, newest_conference = one_row(
                    cur.execute(statement("aggregates", "count_conferences"), prepare=False))
            identifiers = sorted({i for pair in links for i in pair if i is not None})
            applied, newest, rederived, statements = _apply_enrolments(cur, links, identifiers)
            if retracted.rederived and not applied:  # the retractions' changes, summed up alone
                statements += [(s, None) for s in _upsert_diffs()]
        newest = max((t for t in (newest, newest_conference) if t is not None), default=None)
        duplicates = len(enrolments) + len(conferences) + len(retraction_rows) - sum(stored)
        if offsets:
            keys = sorted(offsets)
            statements.append((statement("aggregates", "store_offsets"), (consumer_group, [t for t, _ in keys],
                                                               [p for _, p in keys], [offsets[k] for k in keys])))
        if forget_outbox:
            statements.append((outbox.forget_applied(), None))
        statements.append((statement("aggregates", "status"), {
            "newest": newest, "applied": applied, "duplicates": duplicates, "conferences": new_conferences,
            "retractions": stored[1], "retracted": retracted.events}))
        # prepare=False throughout: a plan cached while the temp tables were small would stay in
        # use when they are ten times larger (a nested loop took 270 ms in one batch); planning
        # each statement for the batch in hand costs ~1 ms.
        with conn.pipeline():  # no results needed from here on: one round trip, not one per statement
            for query, params in statements:
                cur.execute(query, params, prepare=False)
    committed = time.monotonic()
    return BatchResult(applied=applied, conferences=new_conferences, duplicates=duplicates,
                       newest_occurred_at=newest, rederived=rederived + retracted.rederived,
                       lock_wait_s=locked - waiting, lock_held_s=committed - locked, conflicts=frozenset(conflicts),
                       retractions=stored[1], retracted=retracted.events,
                       retracted_on_arrival=stored[0] + stored[2] - new_conferences - applied,
                       refused_retractions=tuple(verdicts.refused))


def _store(cur: psycopg.Cursor, store: str, staging: str, inserted: str, columns: Sequence[str],
           rows: Sequence[tuple], conflicts: set[tuple], types: Sequence[str] | None = None,
           with_retracted: set | None = None) -> int:
    """Stage `rows` and store those new to `store` (dedupe by event_id), copied to `inserted`;
    returns how many were new, and adds the rows that reuse a stored id with other content to
    `conflicts` (and, for enrolments, the ids of those stored and retracted before to
    `with_retracted`)."""
    if not rows:
        return 0
    _copy(cur, staging, columns, rows, types)
    cur.execute(apply_sql.store_new(store, staging, inserted), prepare=False)
    new = cur.rowcount
    if new < len(rows):
        if with_retracted is None:
            conflicts.update(_conflicts(cur, staging, store))
        else:
            for event_id, digest, conflict in cur.execute(statement("aggregates", "stored_before"), prepare=False):
                if conflict:
                    conflicts.add((event_id, digest))
                else:
                    with_retracted.add(event_id)
    return new


def _links(enrolments: Sequence[tuple], retracted: set, conflicts: set[tuple]) -> set[tuple[bytes, bytes | None]]:
    """(ident, linked_ident) of the rows of events that count (not retracted, not a conflicting copy)."""
    return {(row[1], row[2]) for row in enrolments if row[0] not in retracted and (row[0], row[-1]) not in conflicts}


def _upsert_diffs() -> tuple[str, ...]:
    """stock_diff and flow_diff, netted, into the agg_* tables."""
    return (statement("aggregates", "upsert_active"), statement("aggregates", "upsert_active_by_person"),
            statement("aggregates", "upsert_flows"), statement("aggregates", "upsert_campaigns"))


def _conflicts(cur: psycopg.Cursor, staging: str, store: str) -> list[tuple]:
    return cur.execute(apply_sql.conflicts(staging, store), prepare=False).fetchall()


def _copy(cur: psycopg.Cursor, table: str, columns: Sequence[str], rows: Iterable[tuple],
          types: Sequence[str] | None = None) -> None:
    """COPY rows in; binary when `types` is given (PostgreSQL then parses no text)."""
    with cur.copy(apply_sql.copy_in(table, tuple(columns), bool(types))) as copy:
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
    known: dict[bytes, int] = dict(cur.execute(statement("aggregates", "known"), (identifiers,)).fetchall())
    # An event naming one known identifier changes no identity: only the others go through
    # the union-find, with the known numbers of their own identifiers (a merge elsewhere in the
    # batch still renumbers the rest, below, through `merges`).
    changing = [(i, j) for i, j in links if j is not None or i not in known]
    resolution = resolve(changing, {i: known[i] for pair in changing for i in pair if i in known})

    assign = dict(resolution.assign)
    if resolution.new_groups:
        numbers = [n for (n,) in cur.execute(statement("aggregates", "next_participant_ids"),
                                             (len(resolution.new_groups),))]
        for number, group in zip(numbers, resolution.new_groups):
            assign.update((ident, number) for ident in group)
    merges = resolution.merges
    participants = [assign[i] if i in assign else merges.get(known[i], known[i]) for i in identifiers]
    applied, newest = one_row(cur.execute(statement("aggregates", "tag_new_events"), (identifiers, participants),
                                          prepare=False))
    if not applied:
        return 0, None, 0, []
    losers = sorted(merges)
    winners = [merges[x] for x in losers]
    rederive = [p for (p,) in cur.execute(statement("aggregates", "needs_rederivation"), (sorted(set(winners)),),
                                          prepare=False)]
    statements: list[Statement] = []
    if rederive:  # read before the identifier map changes: the old numbers are needed
        statements.append((statement("aggregates", "load_history"), {
            "old": sorted(set(rederive) | set(losers)), "losers": losers, "winners": winners}))
    if losers:
        statements.append((statement("aggregates", "merge"), (losers, winners)))
    if assign:
        ids = sorted(assign)
        statements.append((statement("aggregates", "assign"), (ids, [assign[i] for i in ids])))
    if rederive:
        statements += [(statement("aggregates", "rederive_stock"), None),
                       (statement("aggregates", "rederive_flows"), None)]
    if losers:
        statements.append((statement("aggregates", "forget_merged"), (losers,)))
    statements += [(s, None) for s in (statement("aggregates", "append_stock"), statement("aggregates", "append_flows"),
                                       *_upsert_diffs())]
    return applied, newest, len(rederive), statements


def read_aggregates(conn: psycopg.Connection) -> Tables:
    """The agg_* tables in the shape of `service.domain.aggregation.aggregate` (rows whose
    values are all zero left out: a re-derivation can leave such rows behind; they mean
    nothing to any sum)."""
    out: Tables = {}
    for table, keys in TABLE_KEYS.items():
        values = TABLE_VALUES[table]
        rows = conn.execute(sql_files.composed(
            "aggregates", "read_table", table=sql.Identifier(table),
            columns=sql.SQL(", ").join(map(sql.Identifier, keys + values)),
            any_value=sql.SQL(" OR ").join(sql.SQL("{} <> 0").format(sql.Identifier(v)) for v in values),
        )).fetchall()
        out[table] = {tuple(r[: len(keys)]): tuple(r[len(keys):]) for r in rows}
    return out


def stored_offsets(conn: psycopg.Connection, consumer_group: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> next offset to read, as applied by `consumer_group`."""
    rows = conn.execute(statement("aggregates", "stored_offsets"), (consumer_group,)).fetchall()
    return {(t, p): o for t, p, o in rows}


def forget_consumer_offsets(url: str) -> None:
    """Drop stored offsets: for a new broker whose topics number offsets from zero again
    (the events already applied stay; re-sent ones are deduplicated)."""
    with psycopg.connect(url) as conn:
        conn.execute(statement("aggregates", "forget_offsets"))
