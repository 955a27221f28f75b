"""A rebuild's swap while a live apply is in flight: the apply stores its events before it
waits for the apply lock, and the swap truncates those tables; neither may deadlock, and the
apply's events count after the swap."""
import secrets
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest

from eventgen import enrolment, personal_id
from service.adapters.postgres.aggregates import apply_batch, read_aggregates, rows_for
from service.adapters.postgres.rebuild import (
    connect_to_rebuild, create_rebuild_schema, drop_rebuild_schema, lock_and_read_live_offsets, swap_in,
)
from service.domain.aggregation import aggregate
from service.domain.identity import Pseudonymiser

pytestmark = pytest.mark.integration


def wait_until_waiting_on_a_lock(url: str, pid: int, timeout_s: float = 10) -> str:
    """The kind of lock the backend `pid` waits for (e.g. 'advisory'), once it waits."""
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
            apply_batch(rebuild, *rows_for(events[:20], pseudonymiser))  # the rebuilt figures
            lock_and_read_live_offsets(rebuild, "group")  # the swap transaction holds the locks

            def live_apply():
                try:
                    apply_batch(live, *rows_for(events[20:], pseudonymiser))
                except BaseException as exc:  # reported to the test below
                    errors.append(exc)

            applying = threading.Thread(target=live_apply)
            applying.start()
            # The live apply waits for the swap's locks before it writes any shared table.
            assert wait_until_waiting_on_a_lock(database_url, live.info.backend_pid) == "advisory"
            swap_in(rebuild, schema)  # would deadlock with an apply holding stored events
            applying.join(30)
            assert not applying.is_alive() and not errors, errors
            assert read_aggregates(live) == aggregate(events)
    finally:
        drop_rebuild_schema(database_url, schema)
