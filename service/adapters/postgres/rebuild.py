"""Rebuilding the aggregates into fresh tables and swapping them in.

A rebuild applies events (the same `apply_rows`) into the tables of a new schema
`replay_<timestamp>` — same definitions as the live ones — through a connection whose
search_path puts that schema first. The swap then runs in one transaction under the apply
lock, so no live consumer applies meanwhile: the caller first catches the rebuild up to the
offsets the live consumer has stored, then the live tables are truncated and refilled from
the rebuilt ones. Reporting views keep pointing at the same (live) tables throughout;
readers see the old figures until the swap commits, then the new ones.

The tables under the reporting views are emptied with DELETE, not TRUNCATE: a reporting
login may hold ACCESS SHARE on them (a query, or LOCK on a view) for as long as it likes,
and TRUNCATE's ACCESS EXCLUSIVE would wait for it while the swap holds the apply lock,
stalling every apply. The others, which no reporting login can reach, are truncated.

The statements are in `sql/rebuild/`.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from ...service_layer.applying import BatchResult, Offsets
from ...service_layer.rebuild import StoredRows
from .aggregates import apply_rows, stored_offsets
from .locks import take_apply_lock, take_swap_lock_exclusive
from .rows import one_row
from .staging_rows import CONFERENCE_COLUMNS, EVENT_COLUMNS, RETRACTION_COLUMNS
from .sql_files import composed, text

# Everything the consumer derives; consumer_offsets stays live (it says what the live
# consumer has read, which the rebuild has caught up to).
REBUILT_TABLES = (
    "participant_identifiers", "enrolment_events", "conference_events", "event_retractions",
    "participant_scheme_state", "aggregation_status",
    "agg_active_changes", "agg_active_changes_by_person", "agg_flows",
    "agg_campaign_enrolments", "agg_outreach",
)


def create_rebuild_schema(url: str) -> str:
    name = "replay_" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    schema = sql.Identifier(name)
    with psycopg.connect(url) as conn:
        conn.execute(composed("rebuild", "create_schema", schema=schema))
        for table in REBUILT_TABLES:
            conn.execute(composed("rebuild", "create_table", schema=schema, table=sql.Identifier(table)))
        conn.execute(composed("rebuild", "create_sequence", schema=schema))
        conn.execute(composed("rebuild", "create_status", schema=schema))
    return name


def connect_to_rebuild(url: str, schema: str) -> psycopg.Connection:
    """A connection that reads and writes the rebuild's tables (unqualified names)."""
    conn = psycopg.connect(url)
    conn.execute(composed("rebuild", "set_search_path", schema=sql.Identifier(schema)))
    conn.commit()
    return conn


def lock_and_read_live_offsets(conn: psycopg.Connection, consumer_group: str) -> dict[tuple[str, int], int]:
    """Open the swap transaction: take the swap and apply locks (live consumers' applies in
    flight finish first; new ones wait from here on) and return the offsets the live consumer
    group has applied."""
    conn.execute(take_swap_lock_exclusive())
    conn.execute(take_apply_lock())
    return stored_offsets(conn, consumer_group)


def tables_under_reporting_views(conn: psycopg.Connection) -> set[str]:
    return {name for (name,) in conn.execute(text("rebuild", "tables_under_reporting_views"))}


def swap_in(conn: psycopg.Connection, schema: str) -> None:
    """Replace the live tables' contents with the rebuild's, in the caller's transaction
    (which holds the apply lock), and commit."""
    s = sql.Identifier(schema)
    readable = tables_under_reporting_views(conn)
    private = [sql.SQL("public.{}").format(sql.Identifier(t)) for t in REBUILT_TABLES if t not in readable]
    conn.execute(composed("rebuild", "truncate_live", tables=sql.SQL(", ").join(private)))
    for table in REBUILT_TABLES:
        t = sql.Identifier(table)
        if table in readable:
            conn.execute(composed("rebuild", "empty_live", table=t))
        conn.execute(composed("rebuild", "copy_in", table=t, schema=s))
    conn.execute(composed("rebuild", "continue_sequence", schema=s))
    conn.commit()


def drop_rebuild_schema(url: str, schema: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(composed("rebuild", "drop_schema", schema=sql.Identifier(schema)))


def stored_event_rows(url: str, table: str, columns: Sequence[str], batch: int,
                      missing_from: str | None = None) -> Iterator[list[tuple]]:
    """The live event store's rows of `table` (enrolment_events, conference_events or
    event_retractions) as the
    apply's staging rows, `batch` at a time, read with a server-side cursor; with
    `missing_from`, only those the schema of that name does not hold yet (the catch-up)."""
    query = composed("rebuild", "stored_events", columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
                     table=sql.Identifier(table))
    if missing_from is not None:
        query = sql.SQL(" ").join([query, composed("rebuild", "missing_from", schema=sql.Identifier(missing_from),
                                                   table=sql.Identifier(table))])
    with psycopg.connect(url) as conn, conn.cursor(name="stored_events") as cur:
        cur.itersize = batch
        cur.execute(query)
        while rows := cur.fetchmany(batch):
            yield rows


def stored_event_count(conn: psycopg.Connection, schema: str = "public") -> int:
    """Events (enrolments, conferences and retractions) in the event store of `schema`."""
    (n,) = one_row(conn.execute(composed("rebuild", "stored_event_count", schema=sql.Identifier(schema))))
    return n


class RebuildTables:
    """The rebuild's tables in `schema` beside the live ones (service_layer.rebuild's target);
    holds the connection the swap's transaction runs in."""

    def __init__(self, url: str, schema: str, consumer_group: str):
        self.schema, self.consumer_group = schema, consumer_group
        self.conn = connect_to_rebuild(url, schema)

    def apply(self, enrolments: Sequence[tuple], conferences: Sequence[tuple],
              retractions: Sequence[tuple]) -> BatchResult:
        # The live consumer forgets the outbox rows of what it applied; the rebuild leaves them.
        return apply_rows(self.conn, enrolments, conferences, retractions, forget_outbox=False)

    def live_event_count(self) -> int:
        n = stored_event_count(self.conn)
        self.conn.commit()  # each apply commits on its own until the swap's transaction
        return n

    def lock_and_read_live_offsets(self) -> dict[tuple[str, int], int]:
        return lock_and_read_live_offsets(self.conn, self.consumer_group)

    def event_counts(self) -> tuple[int, int]:
        return stored_event_count(self.conn), stored_event_count(self.conn, self.schema)

    def swap_in(self) -> None:
        swap_in(self.conn, self.schema)

    def close(self) -> None:
        self.conn.close()


class StoredEvents:
    """The live event store as a rebuild's source (service_layer.rebuild.RecordSource)."""

    def __init__(self, url: str, schema: str, batch: int):
        self.url, self.schema, self.batch = url, schema, batch

    def batches(self) -> Iterator[StoredRows]:
        return self._read(None)

    def catch_up(self, live: Offsets) -> list[StoredRows]:
        # Under the swap and apply locks no live apply is in flight: what the live store holds
        # beyond the rebuild now is exactly what it stored meanwhile. The catch-up runs inside
        # the swap's transaction: it is read whole before it is applied.
        return list(self._read(self.schema))

    def _read(self, missing_from: str | None) -> Iterator[StoredRows]:
        # Retractions first: an event whose retraction waits is never counted, where retracting
        # it after it was counted would re-derive its participant (the figures are the same).
        for table, columns, wrap in (
            ("event_retractions", RETRACTION_COLUMNS, lambda rows: StoredRows(retractions=rows)),
            ("enrolment_events", EVENT_COLUMNS, lambda rows: StoredRows(enrolments=rows)),
            ("conference_events", CONFERENCE_COLUMNS, lambda rows: StoredRows(conferences=rows)),
        ):
            for rows in stored_event_rows(self.url, table, columns, self.batch, missing_from):
                yield wrap(rows)
