"""The worker's store adapter without a server: its connection is made on first use, kept
across applies and after a failure that leaves it usable, and dropped when a failure leaves it
broken, so that the next try reconnects. (The SQL runs against the real PostgreSQL in
tests/aggregation: test_worker.py, test_broker_restart.py.)"""
import psycopg
import pytest

from service.adapters.postgres import batch_store
from service.adapters.postgres.batch_store import PostgresBatchStore
from service.service_layer.applying import BatchResult

RESULT = BatchResult(applied=1, conferences=0, duplicates=0, newest_occurred_at=None)


class FakeConnection:
    def __init__(self):
        self.broken = self.closed = False

    def close(self):
        self.closed = True


@pytest.fixture
def store(monkeypatch):
    """A store whose apply_isolating is `outcomes`' next item: a result, or an error to raise
    (then `breaks` says whether the connection is left broken)."""
    connections, calls = [], []

    def connect():
        connections.append(FakeConnection())
        return connections[-1]

    def apply_isolating(conn, enrolments, conferences, retractions, **options):
        calls.append((conn, options))
        outcome, breaks = store.outcomes.pop(0)
        if isinstance(outcome, Exception):
            conn.broken = breaks
            raise outcome
        return outcome, []

    monkeypatch.setattr(batch_store, "apply_isolating", apply_isolating)
    store = PostgresBatchStore(connect, "group-1")
    store.connections, store.calls, store.outcomes = connections, calls, []
    return store


def apply(store):
    return store.apply([("row",)], [], [], {("events", 0): 5}, lambda: "paused")


def test_the_connection_is_made_on_first_use_and_kept(store):
    store.outcomes = [(RESULT, False), (RESULT, False)]
    assert store.connections == []
    assert apply(store) == (RESULT, [])
    apply(store)
    assert len(store.connections) == 1
    conn, options = store.calls[0]
    assert options == {"offsets": {("events", 0): 5}, "consumer_group": "group-1", "locked_python": "paused"}


def test_a_broken_connection_is_dropped_and_the_next_try_reconnects(store):
    store.outcomes = [(psycopg.OperationalError("server closed the connection"), True), (RESULT, False)]
    with pytest.raises(psycopg.OperationalError):
        apply(store)
    assert store.connections[0].closed
    assert apply(store) == (RESULT, [])
    assert len(store.connections) == 2 and store.calls[1][0] is store.connections[1]


def test_a_failure_that_leaves_the_connection_usable_keeps_it(store):
    store.outcomes = [(psycopg.errors.DeadlockDetected("deadlock"), False), (RESULT, False)]
    with pytest.raises(psycopg.errors.DeadlockDetected):
        apply(store)
    apply(store)
    assert len(store.connections) == 1 and not store.connections[0].closed


def test_close_closes_the_connection(store):
    store.outcomes = [(RESULT, False)]
    apply(store)
    store.close()
    assert store.connections[0].closed
