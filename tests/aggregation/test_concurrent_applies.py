"""Applies that store their events before they wait for the apply lock, beside the
transactions they can meet there: a rebuild's swap, which truncates those tables, and another
apply storing the same event. Neither may deadlock, and every event counts once."""
import contextlib
import secrets
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest

from eventgen import enrolment, personal_id
from service.adapters.postgres.aggregates import apply_rows, read_aggregates
from service.adapters.postgres.staging_rows import rows_for
from service.adapters.postgres.rebuild import (
    connect_to_rebuild, create_rebuild_schema, drop_rebuild_schema, lock_and_read_live_offsets, swap_in,
)
from service.adapters.postgres.locks import APPLY_LOCK, take_apply_lock
from service.domain.aggregation import aggregate
from service.domain.identity import Pseudonymiser

pytestmark = pytest.mark.integration


def wait_until_waiting_on_a_lock(url: str, pid: int, timeout_s: float = 10) -> str:
    """The kind of lock the backend `pid` waits for (e.g. 'relation'), once it waits."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT locktype FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)).fetchone()
            if row:
                return row[0]
            time.sleep(0.02)
    raise AssertionError("the apply never waited for a lock")


def test_swap_waits_for_an_apply_in_flight_and_neither_deadlocks(database_url):
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    events = [enrolment("registered", datetime(2020, 1 + i % 12, 10, tzinfo=UTC), pid=personal_id(i))
              for i in range(40)]
    schema = create_rebuild_schema(database_url)
    errors: list[BaseException] = []
    try:
        with connect_to_rebuild(database_url, schema) as rebuild, psycopg.connect(database_url) as live:
            apply_rows(rebuild, *rows_for(events[:20], pseudonymiser))  # the rebuilt figures
            lock_and_read_live_offsets(rebuild, "group")  # the swap transaction holds the locks

            def live_apply():
                try:
                    apply_rows(live, *rows_for(events[20:], pseudonymiser))
                except BaseException as exc:  # reported to the test below
                    errors.append(exc)

            applying = threading.Thread(target=live_apply)
            applying.start()
            # The live apply waits for the swap's locks before it writes any shared table.
            assert wait_until_waiting_on_a_lock(database_url, live.info.backend_pid) == "relation"
            swap_in(rebuild, schema)  # would deadlock with an apply holding stored events
            applying.join(30)
            assert not applying.is_alive() and not errors, errors
            assert read_aggregates(live) == aggregate(events)
    finally:
        drop_rebuild_schema(database_url, schema)


def test_two_applies_storing_the_same_event_count_it_once(database_url):
    """A re-delivered event in two workers' batches at once (e.g. around a rebalance): the
    second one's store waits for the first transaction, which holds no lock it needs; the
    event counts once and neither deadlocks."""
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    shared = enrolment("registered", datetime(2020, 3, 10, tzinfo=UTC), pid=personal_id(1))
    first = [shared] + [enrolment("registered", datetime(2020, 4, 10, tzinfo=UTC), pid=personal_id(i))
                        for i in range(2, 6)]
    second = [shared] + [enrolment("renewed", datetime(2020, 5, 10, tzinfo=UTC), pid=personal_id(i))
                         for i in range(2, 4)]
    errors: list[BaseException] = []
    with psycopg.connect(database_url) as holder, psycopg.connect(database_url) as a, \
            psycopg.connect(database_url) as b:
        holder.execute(take_apply_lock())  # another apply in progress

        def apply(conn, events):
            try:
                apply_rows(conn, *rows_for(events, pseudonymiser))
            except BaseException as exc:  # reported to the test below
                errors.append(exc)

        first_apply = threading.Thread(target=apply, args=(a, first))
        first_apply.start()
        assert wait_until_waiting_on_a_lock(database_url, a.info.backend_pid) == "relation"  # stored, waits
        second_apply = threading.Thread(target=apply, args=(b, second))
        second_apply.start()
        # The second waits on the first's uncommitted copy of the shared event.
        assert wait_until_waiting_on_a_lock(database_url, b.info.backend_pid) == "transactionid"
        holder.commit()
        for t in (first_apply, second_apply):
            t.join(30)
        assert not errors, errors
        assert read_aggregates(a) == aggregate(first + second[1:])
        (stored,) = a.execute("SELECT count(*) FROM enrolment_events").fetchone()
        assert stored == len(first) + len(second) - 1


def test_an_apply_reports_how_long_it_waited_for_and_held_the_apply_lock(database_url):
    """The lock times behind the workers' lock metrics: an apply that waits while another
    transaction holds the lock reports at least that wait, and a hold that ends at its commit."""
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    events = [enrolment("registered", datetime(2020, 6, 10, tzinfo=UTC), pid=personal_id(i)) for i in range(3)]
    results = []
    with psycopg.connect(database_url) as holder, psycopg.connect(database_url) as conn:
        holder.execute(take_apply_lock())
        applying = threading.Thread(target=lambda: results.append(apply_rows(conn, *rows_for(events, pseudonymiser))))
        applying.start()
        assert wait_until_waiting_on_a_lock(database_url, conn.info.backend_pid) == "relation"
        time.sleep(0.3)
        holder.commit()
        applying.join(30)
        alone = apply_rows(conn, *rows_for([enrolment("renewed", datetime(2020, 7, 10, tzinfo=UTC),
                                                         pid=personal_id(0))], pseudonymiser))
    (waited,) = results
    assert waited.applied == 3 and waited.lock_wait_s >= 0.3 and waited.lock_held_s > 0
    assert alone.lock_wait_s < 0.3 and alone.lock_held_s > 0


def test_the_locked_python_stretch_runs_under_the_lock_before_the_aggregates_are_written(database_url):
    """`locked_python` (the worker pauses its decoding thread in it) spans Python run while
    the apply lock is held, and ends before the statements that write the aggregates."""
    pseudonymiser = Pseudonymiser(secrets.token_hex(8))
    events = [enrolment("registered", datetime(2021, 2, 10, tzinfo=UTC), pid=personal_id(100 + i)) for i in range(5)]
    seen = []
    with psycopg.connect(database_url) as conn, psycopg.connect(database_url, autocommit=True) as observer:
        def holds_apply_lock() -> bool:
            (held,) = observer.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'relation' AND granted"
                " AND relation = %s::regclass AND mode = 'ExclusiveLock'", (conn.info.backend_pid, APPLY_LOCK)).fetchone()
            return held == 1

        def flow_rows() -> int:
            return conn.execute("SELECT count(*) FROM agg_flows").fetchone()[0]

        before = flow_rows()
        conn.commit()

        @contextlib.contextmanager
        def locked_python():
            seen.append(("enter", holds_apply_lock()))
            yield
            seen.append(("exit", holds_apply_lock(), flow_rows() - before))

        result = apply_rows(conn, *rows_for(events, pseudonymiser), locked_python=locked_python())
        after = flow_rows()
    assert seen == [("enter", True), ("exit", True, 0)]
    assert result.applied == len(events) and after > before
