"""The outbox (migration 0032): every event the API accepts, kept in PostgreSQL from before its
202 until the consumer has stored it, so that no broker loss can lose it (docs/durability.md).

- `admit` (API): one statement per request stores the new events and gives, for every event id
  already known (in the outbox or the event store), the digest of the event accepted under it:
  the same digest is a duplicate, another a conflict. The caller publishes only the new ones.
  A copy admitted while an apply stores its event is checked again (`undo_stored.sql`).
- `forget_applied.sql` (consumer): deletes the rows of the events an apply stores, in its
  transaction (`aggregates.apply_rows`), when the content digests agree.
- `due` / `mark_published` / `record_reset` (relay, through `RelayOutbox`): what to publish
  again, and when.

The SQL lives in `sql/outbox/*.sql` (sql_files.py); `admit.sql` and `undo_stored.sql` share
`stored_events.sql`, the events already stored under some ids.
"""
from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import psycopg
from psycopg import sql

from ...service_layer.ingestion import Admission, OutboxEntry
from ...service_layer.unavailable import DatabaseUnavailable
from .pool import LazyConnection
from .rows import one_row
from .sql_files import composed, text

def _stored_events(matching: str) -> sql.Composed:
    """`stored_events.sql` for the ids that `matching` (a join or a filter on `s`) picks out."""
    return composed("outbox", "stored_events", matching=sql.SQL(matching))


@cache
def _admit_statement() -> str:
    return composed("outbox", "admit", stored_events=_stored_events(
        "JOIN incoming USING (event_id)")).as_string(None)


@cache
def _undo_stored_statement() -> str:
    return composed("outbox", "undo_stored", stored_events=_stored_events(
        "WHERE s.event_id = ANY(%(ids)s)")).as_string(None)


def admit(conn: psycopg.Connection, entries: Sequence[OutboxEntry]) -> Admission:
    """Store the entries whose event ids are new and commit. Ids must be distinct."""
    if not entries:
        return Admission(frozenset(), {})
    rows = conn.execute(_admit_statement(), {
        "ids": [e.event_id for e in entries], "digests": [e.content_digest for e in entries],
        "keys": [e.key for e in entries], "values": [e.value for e in entries], "kinds": [e.kind for e in entries],
    }).fetchall()
    known = {event_id: None if digest is None else bytes(digest) for event_id, is_new, digest in rows if not is_new}
    raced = [event_id for event_id, is_new, digest in rows if is_new and digest is not None]
    if raced:
        known.update((event_id, None if digest is None else bytes(digest))
                     for event_id, digest in conn.execute(_undo_stored_statement(), {"ids": raced}).fetchall())
    conn.commit()
    return Admission(frozenset(event_id for event_id, is_new, _ in rows if is_new and event_id not in known), known)




def mark_published(conn: psycopg.Connection, event_ids: Sequence[uuid.UUID]) -> None:
    if event_ids:
        conn.execute(text("outbox", "mark_published"), (list(event_ids),))
        conn.commit()




def forget_applied() -> str:
    """The statement an apply runs in its transaction (`aggregates.apply_rows`) to delete the
    outbox rows of the events it stores."""
    return text("outbox", "forget_applied")


def due(conn: psycopg.Connection, *, limit: int, grace_s: float, stale_s: float) -> list[OutboxEntry]:
    rows = conn.execute(text("outbox", "due"), {"limit": limit, "grace_s": grace_s, "stale_s": stale_s}).fetchall()
    conn.commit()
    return [OutboxEntry(r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]), r[4]) for r in rows]


def record_reset(conn: psycopg.Connection, reason: str) -> None:
    """The broker may have lost acknowledged records: the relay publishes every row again."""
    conn.execute(text("outbox", "record_reset"), (reason,))
    conn.commit()


def pending(conn: psycopg.Connection) -> tuple[int, int]:
    """(rows in the outbox, rows never acknowledged by the broker)."""
    total, unpublished = one_row(conn.execute(text("outbox", "pending")))
    conn.commit()
    return total, unpublished


class RelayOutbox:
    """The relay's outbox (`service_layer.relaying.DueOutbox`) on one connection of its own,
    made again after the database was unreachable (DatabaseUnavailable)."""

    def __init__(self, connect: Callable[[], psycopg.Connection]):
        self._conn = LazyConnection(connect)

    def due(self, *, limit: int, grace_s: float, stale_s: float) -> list[OutboxEntry]:
        with self._reachable():
            return due(self._conn.get(), limit=limit, grace_s=grace_s, stale_s=stale_s)

    def mark_published(self, event_ids: Sequence[uuid.UUID]) -> None:
        with self._reachable():
            mark_published(self._conn.get(), event_ids)

    def close(self) -> None:
        self._conn.drop()

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except psycopg.OperationalError as exc:
            self._conn.drop()
            raise DatabaseUnavailable(type(exc).__name__) from exc


class GroupedOutbox:
    """The outbox for a process that serves many requests at once (a gevent worker): the
    admissions of concurrent requests, and the acknowledgements noted since, share one
    statement and one commit on one connection, as a Kafka producer batches sends. While a
    group runs, the next one gathers; a lone request waits for no one.

    `admit` raises DatabaseUnavailable when the database cannot take the entries in
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
            raise DatabaseUnavailable(f"the outbox did not answer within {self._timeout_s} s")
        if isinstance(request.error, psycopg.OperationalError):
            raise DatabaseUnavailable(type(request.error).__name__) from request.error
        if request.error is not None:
            raise request.error  # not an outage: a bug
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
                conn.execute(text("outbox", "mark_published"), (marks,))
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
