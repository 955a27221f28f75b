"""The outbox (migration 0032): every event the API accepts, kept in PostgreSQL from before its
202 until the consumer has stored it, so that no broker loss can lose it (docs/durability.md).

- `admit` (API): one statement per request stores the new events and gives, for every event id
  already known (in the outbox or the event store), the digest of the event accepted under it:
  the same digest is a duplicate, another a conflict. The caller publishes only the new ones.
  A copy admitted while an apply stores its event is checked again (`_UNDO_STORED`).
- `FORGET_APPLIED` (consumer): deletes the rows of the events an apply stores, in its
  transaction, when the content digests agree.
- `due` / `mark_published` / `record_reset` (relay): what to publish again, and when.
"""
from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from .pool import LazyConnection
from .rows import one_row

@dataclass(frozen=True)
class OutboxEntry:
    event_id: uuid.UUID
    content_digest: bytes
    key: bytes
    value: bytes
    kind: str


@dataclass(frozen=True)
class Admission:
    new: frozenset[uuid.UUID]  # stored now: to be published
    known: dict[uuid.UUID, bytes | None]  # accepted before: its digest (None: stored before digests)

    def is_same_event(self, entry: OutboxEntry) -> bool:
        """`entry` is the event accepted before under its id (as far as can be told)."""
        digest = self.known.get(entry.event_id)
        return digest is None or digest == entry.content_digest


# The data-modifying CTE's rows are invisible to the rest of the statement, so `outbox` below
# reads only rows that were there before: exactly the earlier acceptances.
_ADMIT = """
WITH incoming AS (
    SELECT * FROM unnest(%(ids)s::uuid[], %(digests)s::bytea[], %(keys)s::bytea[], %(values)s::bytea[],
                         %(kinds)s::text[]) AS t(event_id, content_digest, record_key, record_value, kind)
), stored AS (
    SELECT e.event_id, e.content_digest FROM enrolment_events e JOIN incoming USING (event_id)
    UNION ALL
    SELECT c.event_id, c.content_digest FROM conference_events c JOIN incoming USING (event_id)
    UNION ALL
    SELECT r.event_id, r.content_digest FROM event_retractions r JOIN incoming USING (event_id)
), inserted AS (
    INSERT INTO event_outbox (event_id, content_digest, record_key, record_value, kind)
    SELECT i.* FROM incoming i WHERE NOT EXISTS (SELECT FROM stored s WHERE s.event_id = i.event_id)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
SELECT i.event_id, EXISTS (SELECT FROM inserted n WHERE n.event_id = i.event_id) AS new,
       coalesce(s.content_digest, o.content_digest) AS known_digest
FROM incoming i
LEFT JOIN stored s USING (event_id)
LEFT JOIN event_outbox o USING (event_id)
"""


# An id inserted although the statement's snapshot saw it in the outbox: an apply stored the event
# and deleted that row after the snapshot was taken, so `stored` above missed it. Read again (a
# new snapshot, in the same transaction: it sees that apply's commit, which the INSERT waited
# for or came after), and the copy inserted just now goes: it is the stored event's duplicate or
# a conflict, never a row that no apply would delete. Rare: one more statement only then.
_UNDO_STORED = """
WITH stored AS (
    SELECT event_id, content_digest FROM enrolment_events WHERE event_id = ANY(%(ids)s)
    UNION ALL
    SELECT event_id, content_digest FROM conference_events WHERE event_id = ANY(%(ids)s)
    UNION ALL
    SELECT event_id, content_digest FROM event_retractions WHERE event_id = ANY(%(ids)s)
), undone AS (
    DELETE FROM event_outbox o USING stored s WHERE o.event_id = s.event_id
)
SELECT event_id, content_digest FROM stored
"""


def admit(conn: psycopg.Connection, entries: Sequence[OutboxEntry]) -> Admission:
    """Store the entries whose event ids are new and commit. Ids must be distinct."""
    if not entries:
        return Admission(frozenset(), {})
    rows = conn.execute(_ADMIT, {
        "ids": [e.event_id for e in entries], "digests": [e.content_digest for e in entries],
        "keys": [e.key for e in entries], "values": [e.value for e in entries], "kinds": [e.kind for e in entries],
    }).fetchall()
    known = {event_id: None if digest is None else bytes(digest) for event_id, is_new, digest in rows if not is_new}
    raced = [event_id for event_id, is_new, digest in rows if is_new and digest is not None]
    if raced:
        known.update((event_id, None if digest is None else bytes(digest))
                     for event_id, digest in conn.execute(_UNDO_STORED, {"ids": raced}).fetchall())
    conn.commit()
    return Admission(frozenset(event_id for event_id, is_new, _ in rows if is_new and event_id not in known), known)


# The broker acknowledged these rows' records (the API's own publish, or the relay's).
MARK_PUBLISHED = "UPDATE event_outbox SET published_at = now() WHERE event_id = ANY(%s)"


def mark_published(conn: psycopg.Connection, event_ids: Sequence[uuid.UUID]) -> None:
    if event_ids:
        conn.execute(MARK_PUBLISHED, (list(event_ids),))
        conn.commit()


# Run by the live consumer's apply, in its transaction, after the batch's events are stored
# (qualified: a rebuild's search_path puts its own schema first). The rows to go are found by a
# SELECT (the InitPlan) and deleted by their ids alone: an acknowledgement (MARK_PUBLISHED) may
# update them meanwhile, and a DELETE that waits for it re-checks the new row versions. That
# re-check of a DELETE … USING join lost every row but the first when the plan probed
# event_outbox's index per staged event (PostgreSQL 16.2: ~1 accepted event in 10 left behind in
# the demo, for ever); a single-table DELETE re-checks `event_id = ANY(…)` alone. The digests
# cannot change meanwhile: an acknowledgement writes only published_at.
FORGET_APPLIED = """
DELETE FROM public.event_outbox WHERE event_id = ANY (ARRAY(
    SELECT o.event_id FROM (
        SELECT event_id, content_digest FROM staging_events
        UNION ALL SELECT event_id, content_digest FROM staging_conferences
        UNION ALL SELECT event_id, content_digest FROM staging_retractions
    ) s CROSS JOIN LATERAL (  -- OFFSET 0: an index lookup per staged event, never a scan of a backlog
        SELECT event_id FROM public.event_outbox o
        WHERE o.event_id = s.event_id AND o.content_digest = s.content_digest OFFSET 0) o
))
"""

# Never acknowledged and older than the grace (the API's own publish may still be under way),
# acknowledged before the broker's last reset, or unapplied for longer than the safety net.
_DUE = """
SELECT event_id, content_digest, record_key, record_value, kind FROM event_outbox
WHERE (published_at IS NULL AND accepted_at < now() - make_interval(secs => %(grace_s)s))
   OR published_at < (SELECT max(reset_at) FROM broker_resets)
   OR published_at < now() - make_interval(secs => %(stale_s)s)
ORDER BY accepted_at
LIMIT %(limit)s
"""


def due(conn: psycopg.Connection, *, limit: int, grace_s: float, stale_s: float) -> list[OutboxEntry]:
    rows = conn.execute(_DUE, {"limit": limit, "grace_s": grace_s, "stale_s": stale_s}).fetchall()
    conn.commit()
    return [OutboxEntry(r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]), r[4]) for r in rows]


def record_reset(conn: psycopg.Connection, reason: str) -> None:
    """The broker may have lost acknowledged records: the relay publishes every row again."""
    conn.execute("INSERT INTO broker_resets (reason) VALUES (%s)", (reason,))
    conn.commit()


def pending(conn: psycopg.Connection) -> tuple[int, int]:
    """(rows in the outbox, rows never acknowledged by the broker)."""
    total, unpublished = one_row(conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM event_outbox"))
    conn.commit()
    return total, unpublished


class GroupedOutbox:
    """The outbox for a process that serves many requests at once (a gevent worker): the
    admissions of concurrent requests, and the acknowledgements noted since, share one
    statement and one commit on one connection, as a Kafka producer batches sends. While a
    group runs, the next one gathers; a lone request waits for no one.

    `admit` raises psycopg.OperationalError when the database cannot take the entries in
    `timeout_s`: nothing of them is accepted."""

    def __init__(self, connect: Callable[[], psycopg.Connection], timeout_s: float):
        self._timeout_s = timeout_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._marks: list[uuid.UUID] = []
        self._started_in: int | None = None  # the process whose thread serves the queue
        self._lock = threading.Lock()
        self._conn = LazyConnection(connect)

    def admit(self, entries: Sequence[OutboxEntry]) -> Admission:
        self._ensure_thread()
        request = _Request(list(entries))
        self._queue.put(request)
        if not request.done.wait(self._timeout_s):
            raise psycopg.OperationalError(f"the outbox did not answer within {self._timeout_s} s")
        if request.error is not None:
            raise request.error
        assert request.admission is not None  # answered: an admission or an error
        return request.admission

    def mark_published(self, event_ids: Sequence[uuid.UUID]) -> None:
        """Noted now, written with the next group (a mark lost to a crash costs a re-publish)."""
        with self._lock:
            self._marks.extend(event_ids)

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._started_in != pid:
            with self._lock:
                if self._started_in != pid:  # after a fork the parent's thread is not here
                    threading.Thread(target=self._serve, name="outbox", daemon=True).start()
                    self._started_in, self._conn = pid, LazyConnection(self._conn.connect)

    def _serve(self) -> None:
        while True:
            group = [self._queue.get()]
            while True:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._admit_group(group)

    def _admit_group(self, group: list["_Request"]) -> None:
        with self._lock:
            marks, self._marks = self._marks, []
        first: dict[uuid.UUID, tuple[_Request, OutboxEntry]] = {}
        for request in group:
            for entry in request.entries:
                first.setdefault(entry.event_id, (request, entry))
        try:
            conn = self._conn.get()
            if marks:
                conn.execute(MARK_PUBLISHED, (marks,))
            admission = admit(conn, [entry for _, entry in first.values()])  # commits the marks too
        except psycopg.Error as exc:
            self._conn.drop()
            for request in group:
                request.fail(exc)
            return
        for request in group:
            new = frozenset(i for i in {e.event_id for e in request.entries}
                            if i in admission.new and first[i][0] is request)
            known = {i: admission.known.get(i, first[i][1].content_digest)
                     for i in {e.event_id for e in request.entries} if i not in new}
            request.answer(Admission(new, known))

class _Request:
    def __init__(self, entries: list[OutboxEntry]):
        self.entries = entries
        self.done = threading.Event()
        self.admission: Admission | None = None
        self.error: Exception | None = None

    def answer(self, admission: Admission) -> None:
        self.admission = admission
        self.done.set()

    def fail(self, error: Exception) -> None:
        self.error = error
        self.done.set()
