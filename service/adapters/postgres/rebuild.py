"""Rebuilding the aggregates into fresh tables and swapping them in.

A rebuild applies events (the same `apply_batch`) into the tables of a new schema
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
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from .locks import TAKE_APPLY_LOCK, TAKE_SWAP_LOCK_EXCLUSIVE
from .rows import one_row

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
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
        for table in REBUILT_TABLES:
            conn.execute(sql.SQL("CREATE TABLE {}.{} (LIKE public.{} INCLUDING ALL)").format(
                schema, sql.Identifier(table), sql.Identifier(table)))
        conn.execute(sql.SQL("CREATE SEQUENCE {}.participant_id_seq").format(schema))
        conn.execute(sql.SQL("INSERT INTO {}.aggregation_status DEFAULT VALUES").format(schema))
    return name


def connect_to_rebuild(url: str, schema: str) -> psycopg.Connection:
    """A connection that reads and writes the rebuild's tables (unqualified names)."""
    conn = psycopg.connect(url)
    conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
    conn.commit()
    return conn


def lock_and_read_live_offsets(conn: psycopg.Connection, consumer_group: str) -> dict[tuple[str, int], int]:
    """Open the swap transaction: take the swap and apply locks (live consumers' applies in
    flight finish first; new ones wait from here on) and return the offsets the live consumer
    group has applied."""
    conn.execute(TAKE_SWAP_LOCK_EXCLUSIVE)
    conn.execute(TAKE_APPLY_LOCK)
    rows = conn.execute(
        "SELECT topic, partition, next_offset FROM public.consumer_offsets WHERE consumer_group = %s",
        (consumer_group,),
    ).fetchall()
    return {(t, p): o for t, p, o in rows}


# The public tables that the views of schema `reporting` read, through views over views too:
# a reporting login can lock exactly these (ACCESS SHARE, by querying or locking a view).
_TABLES_UNDER_REPORTING_VIEWS = """
WITH RECURSIVE reached(oid, relkind) AS (
    SELECT c.oid, c.relkind FROM pg_class c WHERE c.relnamespace = 'reporting'::regnamespace
    UNION
    SELECT d.refobjid, ref.relkind
    FROM reached v
    JOIN pg_rewrite r ON r.ev_class = v.oid
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid
    JOIN pg_class ref ON ref.oid = d.refobjid
    WHERE v.relkind IN ('v', 'm')
)
SELECT c.relname FROM reached JOIN pg_class c ON c.oid = reached.oid
WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace
"""


def tables_under_reporting_views(conn: psycopg.Connection) -> set[str]:
    return {name for (name,) in conn.execute(_TABLES_UNDER_REPORTING_VIEWS)}


def swap_in(conn: psycopg.Connection, schema: str) -> None:
    """Replace the live tables' contents with the rebuild's, in the caller's transaction
    (which holds the apply lock), and commit."""
    s = sql.Identifier(schema)
    readable = tables_under_reporting_views(conn)
    private = [sql.SQL("public.{}").format(sql.Identifier(t)) for t in REBUILT_TABLES if t not in readable]
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(private)))
    for table in REBUILT_TABLES:
        t = sql.Identifier(table)
        if table in readable:
            conn.execute(sql.SQL("DELETE FROM public.{}").format(t))
        conn.execute(sql.SQL("INSERT INTO public.{} SELECT * FROM {}.{}").format(t, s, t))
    conn.execute(sql.SQL(
        "SELECT setval('public.participant_id_seq', greatest((SELECT last_value FROM {}.participant_id_seq), 1))"
    ).format(s))
    conn.commit()


def drop_rebuild_schema(url: str, schema: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def stored_event_rows(url: str, table: str, columns: Sequence[str], batch: int,
                      missing_from: str | None = None) -> Iterator[list[tuple]]:
    """The live event store's rows of `table` (enrolment_events, conference_events or
    event_retractions) as the
    apply's staging rows, `batch` at a time, read with a server-side cursor; with
    `missing_from`, only those the schema of that name does not hold yet (the catch-up)."""
    query = sql.SQL("SELECT {} FROM public.{} e").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(table))
    if missing_from is not None:
        query += sql.SQL(" WHERE NOT EXISTS (SELECT FROM {}.{} r WHERE r.event_id = e.event_id)").format(
            sql.Identifier(missing_from), sql.Identifier(table))
    with psycopg.connect(url) as conn, conn.cursor(name="stored_events") as cur:
        cur.itersize = batch
        cur.execute(query)
        while rows := cur.fetchmany(batch):
            yield rows


def stored_event_count(conn: psycopg.Connection, schema: str = "public") -> int:
    """Events (enrolments, conferences and retractions) in the event store of `schema`."""
    s = sql.Identifier(schema)
    (n,) = one_row(conn.execute(sql.SQL("SELECT (SELECT count(*) FROM {}.enrolment_events) + "
                                        "(SELECT count(*) FROM {}.conference_events) + "
                                        "(SELECT count(*) FROM {}.event_retractions)").format(s, s, s)))
    return n
